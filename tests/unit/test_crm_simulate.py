"""Pacemaker's scheduler (crm_simulate) on the generated CIBs, in the spirit of cts/scheduler.

A settled cluster loses a node; the transition graph must fence first, then
promote the pool master on a survivor, then start the lost
VMs there, with no VM start that does not wait for the fence. A planned master
move must leave running VMs alone. The checks read the graph's inputs.
"""

import os
import re

import pytest

from tests.unit.test_crm_golden import CASES, GOLDEN
from xenha import model
from xenha.crm import render, simulate


def load(case, tmp_path, edit=None):
    m = model.load(os.path.join(GOLDEN, case + ".yaml"))
    xml = render.render(m, "xml", case)
    if edit:
        xml = edit(xml)
    cib = tmp_path / "cib.xml"
    cib.write_text(xml)
    return m, str(cib)


@pytest.mark.parametrize("case", CASES)
def test_losing_any_node_fences_first_then_promotes_then_restarts_its_vms(case, tmp_path):
    m, cib = load(case, tmp_path)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    vms = simulate.vm_ids(m)
    for failed in names:
        problems, story, t = simulate.failover(m, cib, failed, master=names[0])
        assert problems == [], (failed, story)
        fence = [a for a in t.real("stonith")]
        assert [a.node for a in fence] == [failed]
        if failed == names[0]:
            promote = t.real("promote", "pool-master")
            assert len(promote) == 1 and promote[0].node != failed
            assert t.waits_for(promote[0], fence[0])
        lost = t.lost() & set(vms)
        starts = [a for a in t.real("start") if a.rsc in vms]
        assert {a.rsc for a in starts} == lost
        for start in starts:
            assert start.node in names and start.node != failed
            assert t.waits_for(start, fence[0])
            for promote in t.real("promote", "pool-master"):
                assert t.waits_for(start, promote)


def test_some_scenario_loses_vms_with_the_master(tmp_path):
    """The checks above are not vacuous: losing the master node loses VMs too."""
    m, cib = load("three-node-pdu", tmp_path)
    _, story, t = simulate.failover(m, cib, "node-a")
    assert t.lost() & set(simulate.vm_ids(m))
    assert story[0] == "fence node-a" and story[1].startswith("promote pool-master on ")


@pytest.mark.parametrize("case", CASES)
def test_a_planned_master_move_restarts_no_vm(case, tmp_path):
    m, cib = load(case, tmp_path)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    problems, story, t = simulate.master_move(m, cib, names[0], names[1])
    assert problems == []
    assert "promote pool-master on %s" % names[1] in story


@pytest.mark.parametrize("case", CASES)
def test_a_host_in_maintenance_mode_sees_its_vms_migrate_away_live(case, tmp_path):
    """XenCenter's maintenance mode on a host (its xapi-pool-master tells the cluster):
    its VMs leave it, live where they may migrate; no other VM moves."""
    m, cib = load(case, tmp_path)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    for host in names:
        problems, story, _ = simulate.host_maintenance(m, cib, host, names[0])
        assert problems == [], (host, story)


def test_some_host_in_maintenance_has_vms_to_move(tmp_path):
    """The check above is not vacuous."""
    m, cib = load("three-node-pdu", tmp_path)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    assert any(simulate.host_maintenance(m, cib, h, names[0]).story for h in names)


@pytest.mark.parametrize("case", CASES)
def test_a_planned_master_move_notifies_the_pool_master_instances(case, tmp_path):
    """xapi-pool-master hands the role over from notify data: the clone needs notify=true."""
    m, cib = load(case, tmp_path)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    t = simulate.master_move(m, cib, names[0], names[1]).transition
    notifies = t.real("notify", "pool-master")
    (promote,) = t.real("promote", "pool-master")
    (demote,) = t.real("demote", "pool-master")
    assert {a.node for a in notifies} == set(names)
    assert any(t.waits_for(promote, n) for n in notifies)
    assert any(t.waits_for(n, demote) for n in notifies)


def symmetrical_master_order(xml):
    return re.sub(
        r'(<rsc_order id="pool-master-before-vms" kind="Mandatory" symmetrical=")false"',
        r'\1true"',
        xml,
    )


def test_symmetrical_master_order_would_restart_vms_on_a_master_move(tmp_path):
    """Why pool-master-before-vms is symmetrical=false: the default restarts VMs."""
    m, cib = load("two-node-qdevice", tmp_path, edit=symmetrical_master_order)
    with open(cib) as f:
        assert 'id="pool-master-before-vms" kind="Mandatory" symmetrical="true"' in f.read()
    problems, _, t = simulate.master_move(m, cib, "xs1", "xs2")
    assert any("stop vm-" in p for p in problems), problems


def test_the_checker_catches_vm_starts_that_do_not_wait_for_the_promotion(tmp_path):
    """Drop the master->VM order: the simulation must now report VM starts racing the promote."""

    def drop(xml):
        return re.sub(r'<rsc_order id="pool-master-before-vms".*?</rsc_order>', "", xml, flags=re.S)

    m, cib = load("three-node-pdu", tmp_path, edit=drop)
    problems = simulate.failover(m, cib, "node-a").problems
    assert any("does not wait for promote pool-master" in p for p in problems), problems


def test_the_checker_catches_a_cluster_without_fencing(tmp_path):
    def no_stonith(xml):
        return xml.replace(
            'name="stonith-enabled" value="true"', 'name="stonith-enabled" value="false"'
        )

    m, cib = load("two-node-qdevice", tmp_path, edit=no_stonith)
    problems = simulate.failover(m, cib, "xs1").problems
    assert problems == ["no fence of xs1 in the transition"]


@pytest.mark.parametrize("case", CASES)
def test_failover_summary_matches_golden(case, tmp_path):
    """cts/scheduler style: the recovery each golden description gets, written down.

    Placement ties are Pacemaker's to break (this file records Pacemaker 2.1's choices);
    regenerate with XENHA_UPDATE_GOLDEN=1 after reviewing a difference.
    """
    m, cib = load(case, tmp_path)
    names = [n["name"] for n in m["cluster"]["nodes"]]
    lines = []
    for failed in names:
        story = simulate.failover(m, cib, failed, master=names[0]).story
        lines.append("lose %s (pool master on %s):" % (failed, names[0]))
        lines += ["  " + step for step in story]
    text = "\n".join(lines) + "\n"
    path = os.path.join(GOLDEN, case + ".failover")
    if os.environ.get("XENHA_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read()
