"""`xenha maintenance`: the expiring property set as Pacemaker reads it (crm_simulate
on a copy of a CIB a real lab printed), its state as status reads it back, the
command's arguments."""

import time
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import run_xenha
from tests.unit.test_drain import data
from xenha import maintenance
from xenha.errors import XenhaError
from xenha.operate import paper

VMS = {"vm-vm1", "vm-vm2", "vm-vm3", "vm-vm4"}


def played(until, manual=False):
    """(changes of banning vm-vm1 from host1, state) in a copy with maintenance set."""
    with paper.Paper(data("cib-live.xml")) as p:
        xml = maintenance.element(until, "kernel update", "root@host1")
        p.verbs.put_property_set(xml, exists=False)
        p.verbs.put_property_set(xml, exists=True)  # again: replaced, not doubled
        if manual:
            p.verbs._do(
                "crm_attribute",
                "--type",
                "crm_config",
                "--set-name",
                "cib-bootstrap-options",
                "--name",
                "maintenance-mode",
                "--update",
                "true",
            )
        with open(p.path) as f:
            root = ET.fromstring(f.read())
        assert (
            len([s for s in root.iter("cluster_property_set") if s.get("id") == maintenance.SET_ID])
            == 1
        )
        p.verbs.ban("vm-vm1", "host1")
        return p.run(VMS), maintenance.state(root)


def test_while_on_pacemaker_moves_nothing_and_status_reads_why():
    changes, state = played(time.time() + 3600)
    assert changes == []
    assert state["on"] and not state["manual"] and not state["expired"]
    assert state["reason"] == "kernel update" and state["by"] == "root@host1"
    assert abs(state["until"] - (time.time() + 3600)) < 5


def test_once_its_end_has_passed_pacemaker_manages_again():
    changes, state = played(time.time() - 60)
    assert [paper.describe(c) for c in changes if c.rsc == "vm-vm1"][0].startswith(
        "vm-vm1: live host1 -> "
    )
    assert not state["on"] and state["expired"]


def test_maintenance_set_by_hand_is_on_without_an_end():
    _, state = played(time.time() - 60, manual=True)
    assert state["on"] and state["manual"]
    root = ET.fromstring(data("cib-live.xml"))
    assert maintenance.state(root) == {
        "on": False,
        "manual": False,
        "until": None,
        "expired": False,
        "reason": "",
        "by": "",
        "since": "",
    }


@pytest.mark.parametrize("text, error", [("30s", "at least 1 minute"), ("soon", "--for: ")])
def test_a_duration_is_at_least_a_minute(text, error):
    with pytest.raises(XenhaError, match=error):
        maintenance.duration(text)
    assert maintenance.duration("4h") == 4 * 3600


def test_the_commands_help_and_a_bad_duration_is_a_clear_error():
    for action in ("status", "on", "off"):
        proc = run_xenha("maintenance", action, "--help")
        assert proc.returncode == 0 and "usage: xenha maintenance " + action in proc.stdout
    proc = run_xenha("maintenance", "on", "--for", "10s")
    assert proc.returncode == 1
    assert proc.stderr == "xenha: error: --for: at least 1 minute (got 10s)\n"


def test_an_explicit_value_in_the_bootstrap_set_wins_and_is_what_on_removes():
    """Pacemaker reads cib-bootstrap-options first: an explicit maintenance-mode=false
    there (pcs property set maintenance-mode=false leaves one) keeps HA on despite
    xenha's set, so `on` removes it; `maintenance.others` finds it."""
    with paper.Paper(data("cib-live.xml")) as p:
        p.verbs._do(
            "crm_attribute", "--type", "crm_config", "--set-name", "cib-bootstrap-options",
            "--name", "maintenance-mode", "--update", "false",
        )  # fmt: skip
        p.verbs.put_property_set(
            maintenance.element(time.time() + 3600, "", "root@host1"), exists=False
        )
        with open(p.path) as f:
            root = ET.fromstring(f.read())
        (explicit,) = maintenance.others(root)
        assert explicit[1] == "false"
        p.verbs.ban("vm-vm1", "host1")
        with paper.Paper(open(p.path).read()) as q:
            assert [c.rsc for c in q.run(VMS)] == ["vm-vm1"]  # not in effect
        p.verbs.remove_nvpair(explicit[0])
        assert p.run(VMS) == []  # in effect
