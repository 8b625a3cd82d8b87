"""`xenha vm move|list|cleanup` and `xenha master move`: previews on a copy of a CIB a
real lab printed (crm_simulate), the refusals, the move that always takes its
constraint back, the list as JSON against its schema."""

import jsonschema
import pytest

from tests.conftest import run_xenha
from tests.unit.test_drain import FakeCluster, cluster, data, mon_edit, pool
from xenha import status
from xenha.cli import vm as vm_cli
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.operate import moves, paper


def view(c=None, p="default"):
    v = {"cluster": c or cluster(), "pool": pool() if p == "default" else p}
    v["vms"] = [
        {"id": rid, "vm": key, "pacemaker": status.started_on(v["cluster"], rid), "failcounts": {}}
        for rid, key in sorted(v["cluster"]["vm_resources"].items())
    ]
    return v


CIB = data("cib-live.xml")


def test_a_vm_is_named_by_resource_id_key_or_pool_name():
    v = view()
    key = v["cluster"]["vm_resources"]
    v["pool"]["vms"][key["vm-vm3"]]["name"] = "db server"
    assert moves.resolve_vm(v, "vm-vm3") == "vm-vm3"
    assert moves.resolve_vm(v, key["vm-vm3"]) == "vm-vm3"
    assert moves.resolve_vm(v, "db server") == "vm-vm3"
    with pytest.raises(XenhaError, match="no protected VM 'nope' \\(VM resources: vm-vm1, "):
        moves.resolve_vm(v, "nope")
    v["pool"]["vms"][key["vm-vm1"]]["name"] = "twin"
    v["pool"]["vms"][key["vm-vm2"]]["name"] = "twin"
    with pytest.raises(XenhaError, match="'twin' names several VMs: vm-vm1, vm-vm2"):
        moves.resolve_vm(v, "twin")


def test_a_vm_move_is_previewed_live_to_the_named_node():
    steps, refusals = moves.plan_vm_move(view(), "vm-vm1", "host3", CIB)
    assert [[paper.describe(c) for c in s] for _, s in steps] == [["vm-vm1: live host1 -> host3"]]
    assert refusals == []
    steps, refusals = moves.plan_vm_move(view(), "vm-vm1", None, CIB)
    (change,) = steps[0][1]
    assert change.kind == "live" and change.source == "host1" and change.target != "host1"


@pytest.mark.parametrize(
    "edit, reason",
    [
        (mon_edit("host3", "standby", "true"), "node host3 is standby: it cannot take vm-vm1"),
        (mon_edit("host3", "online", "false"), "node host3 is offline: it cannot take vm-vm1"),
    ],
)
def test_a_target_that_cannot_take_the_vm_is_refused(edit, reason):
    _, refusals = moves.plan_vm_move(view(cluster(edit)), "vm-vm1", "host3", CIB)
    assert refusals[0] == reason


def test_a_target_without_the_memory_is_refused_and_a_stopped_vm_is_an_error():
    small = pool(free=GiB // 2)
    _, refusals = moves.plan_vm_move(view(p=small), "vm-vm1", "host3", CIB)
    assert refusals == ["vm-vm1 need 1.0 GiB on host host3, which has 0.5 GiB free"]
    with pytest.raises(XenhaError, match="runs on host1 already"):
        moves.plan_vm_move(view(), "vm-vm1", "host1", CIB)
    c = cluster()
    c["running"].pop("vm-vm1")
    with pytest.raises(XenhaError, match="vm-vm1 is not running in the cluster"):
        moves.plan_vm_move(view(c), "vm-vm1", "host3", CIB)


GiB = 1 << 30


def test_a_master_move_is_previewed_and_touches_no_vm():
    steps, refusals = moves.plan_master_move(view(), "host3", CIB)
    assert [[paper.describe(c) for c in s] for _, s in steps] == [["pool master host2 -> host3"]]
    assert refusals == []
    with pytest.raises(XenhaError, match="the pool master is on host2 already"):
        moves.plan_master_move(view(), "host2", CIB)


def test_a_master_move_to_a_disabled_or_dead_host_is_refused():
    disabled = pool()
    disabled["hosts"][2]["enabled"] = False
    assert moves.plan_master_move(view(p=disabled), "host3", CIB)[1] == [
        "host host3 is disabled (maintenance mode?)"
    ]
    dead = pool()
    dead["hosts"][2]["live"] = False
    assert moves.plan_master_move(view(p=dead), "host3", CIB)[1] == [
        "host host3 is not live in the pool"
    ]
    unclean = view(cluster(mon_edit("host3", "unclean", "true")))
    assert moves.plan_master_move(unclean, "host3", CIB)[1][0] == (
        "node host3 is unclean: it cannot take the pool master"
    )


def test_a_move_takes_its_constraint_back_when_done_and_when_it_fails(monkeypatch):
    monkeypatch.setattr(moves, "POLL", 0.05)
    fake = FakeCluster()

    def arrived(c):
        return status.started_on(c, "vm-vm1") == ["host3"] and "host3"

    def constrain(verbs):
        verbs.ban("vm-vm1", "host1")

    done = moves.move("vm-vm1", arrived, constrain, Deadline(5), None, fake.read_cluster, fake)
    assert done == "host3"
    assert fake.calls == [("ban", "vm-vm1", "host1"), ("clear", "vm-vm1", None)]
    stuck = FakeCluster(stuck={"vm-vm1"})
    with pytest.raises(XenhaError, match="vm-vm1 did not move in time"):
        moves.move("vm-vm1", arrived, constrain, Deadline(0.3), None, stuck.read_cluster, stuck)
    assert stuck.calls[-1] == ("clear", "vm-vm1", None)


def test_the_vm_list_as_json_matches_its_schema_and_flags_a_mismatch():
    v = view()
    for row in v["vms"]:
        row.update(name=row["vm"], power="Running", xapi=row["pacemaker"][0])
    v["vms"][0]["xapi"] = "host3"
    rows = vm_cli.rows(v)
    jsonschema.validate(rows, vm_cli.LIST_SCHEMA)
    assert [r["mismatch"] for r in rows] == [True, False, False, False]
    assert rows[0]["migrate"] is True and rows[0]["priority"] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["vm", "list"],
        ["vm", "move"],
        ["vm", "cleanup"],
        ["master", "move"],
    ],
)
def test_each_command_has_help_and_says_when_the_cluster_does_not_answer(argv):
    import os

    proc = run_xenha(*(argv + ["--help"]))
    assert proc.returncode == 0 and "usage: xenha " + " ".join(argv) in proc.stdout
    env = dict(os.environ, PATH="/nonexistent")
    args = {"list": [], "move": ["host1"] if argv[0] == "master" else ["vm1"], "cleanup": ["vm1"]}
    proc = run_xenha(*(argv + args[argv[1]]), env=env)
    assert proc.returncode in (1, 2), proc
    assert "cannot tell" in proc.stderr and "Traceback" not in proc.stderr
