"""`xenha node standby`: the drain's preview (crm_simulate on a copy of a CIB a real lab
printed, tests/data/status/cib-live.xml), each refusal rule, the drain's steps and how
a drain that cannot finish takes them back."""

import os
import re

import jsonschema
import pytest

from tests.conftest import REPO, run_xenha
from xenha import pacemaker, status
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.operate import checks, drain, paper

DATA = os.path.join(REPO, "tests", "data", "status")
GiB = 1 << 30


def data(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def cluster(edit_mon=None):
    """The lab's cluster as crm_mon and the CIB said it: master on host2; vm1 and vm3 on
    host1, vm2 and vm4 on host2; host3 empty."""
    mon = data("crm_mon-live.xml")
    return status.cluster_view(edit_mon(mon) if edit_mon else mon, data("cib-live.xml"))


def pool(free=40 * GiB, vm_memory=GiB):
    hosts = [
        {
            "name": name,
            "uuid": "uuid-" + name,
            "address": "198.18.0.1%d" % i,
            "enabled": True,
            "maintenance": False,
            "live": True,
            "memory_free": free,
        }
        for i, name in enumerate(("host1", "host2", "host3"), 1)
    ]
    keys = cluster()["vm_resources"].values()
    return {"master": "host2", "hosts": hosts, "vms": {k: {"memory": vm_memory} for k in keys}}


def view(c=None, p="default"):
    return {"cluster": c or cluster(), "pool": pool() if p == "default" else p}


QUORUM = {"total": 3, "quorum": 2, "votes": {"host1": 1, "host2": 1, "host3": 1}}
FENCING = (True, "level 1: fence-host1-ilo answers")


def steps_of(node="host1", cib=None):
    return drain.preview(node, cluster(), cib or data("cib-live.xml"))


def words(steps):
    return [(what, [paper.describe(c) for c in changes]) for what, changes in steps]


def test_the_preview_moves_each_vm_live_one_at_a_time_then_standby():
    steps = words(steps_of("host1"))
    assert [what for what, _ in steps] == [
        "vm-vm1 leaves host1",
        "vm-vm3 leaves host1",
        "host1 in standby",
    ]
    for what, changes in steps[:2]:
        rsc = what.split()[0]
        assert len(changes) == 1 and re.match(rsc + r": live host1 -> host[23]$", changes[0])
    assert not any(line.startswith("vm-") for line in steps[2][1])


def test_the_master_is_handed_over_last_with_standby_and_no_vm_restarts():
    steps = steps_of("host2")
    assert [w for w, _ in steps] == [
        "vm-vm2 leaves host2",
        "vm-vm4 leaves host2",
        "host2 in standby",
    ]
    last = steps[-1][1]
    master = [c for c in last if c.kind == "master"]
    assert len(master) == 1 and master[0].source == "host2" and master[0].target != "host2"
    assert checks.restarts(steps, cluster()) == []
    assert drain.refusals("host2", view(), steps, QUORUM, FENCING) == []


def test_a_vm_that_may_not_migrate_is_a_restart_the_drain_refuses():
    cib = data("cib-live.xml").replace(
        'value="true" id="vm-vm1-meta_attributes-allow-migrate"',
        'value="false" id="vm-vm1-meta_attributes-allow-migrate"',
    )
    assert 'value="false" id="vm-vm1-meta' in cib
    steps = steps_of("host1", cib)
    c = cluster()
    c["vm_options"]["vm-vm1"]["migrate"] = False
    assert checks.restarts(steps, c) == [
        next(paper.describe(x) for _, s in steps for x in s if x.rsc == "vm-vm1")
        + " (allow-migrate is off)"
    ]
    assert "RESTART host1 ->" in checks.restarts(steps, c)[0]


def test_a_busy_cluster_is_refused_until_it_settles():
    """host3 has just been put in standby: its clone instance is still to stop."""
    cib = data("cib-live.xml").replace(
        '"nodes-3-standby" name="standby" value="off"',
        '"nodes-3-standby" name="standby" value="on"',
    )
    assert 'name="standby" value="on"' in cib
    steps = drain.preview("host1", cluster(), cib)
    assert words(steps)[0] == (drain.BUSY, ["pool-master: STOP on host3"])
    assert drain.refusals("host1", view(), steps, QUORUM, FENCING)[0] == (
        "the cluster is busy: let it settle first (crm_resource --wait)"
    )


def mon_edit(node, attr, value):
    def edit(text):
        return re.sub(
            r'(<node name="%s"[^>]*?) %s="[a-z]+"' % (node, attr),
            r'\1 %s="%s"' % (attr, value),
            text,
        )

    return edit


@pytest.mark.parametrize(
    "edit, reason",
    [
        (mon_edit("host3", "standby", "true"), "node host3 is standby"),
        (mon_edit("host3", "unclean", "true"), "node host3 is unclean"),
        (mon_edit("host3", "online", "false"), "node host3 is offline"),
        (mon_edit("host3", "maintenance", "true"), "node host3 is maintenance"),
    ],
)
def test_another_node_that_cannot_take_the_work_is_refused(edit, reason):
    c = cluster(edit)
    reasons = drain.refusals("host1", view(c), steps_of(), QUORUM, FENCING)
    assert reasons and reasons[0].startswith(reason), reasons


def test_a_pending_fence_is_refused():
    c = cluster()
    c["fences"] = [{"target": "host3", "action": "reboot", "status": "pending"}]
    assert drain.refusals("host1", view(c), steps_of(), QUORUM, FENCING) == [
        "a fence of host3 is pending"
    ]


def test_a_node_whose_loss_costs_quorum_is_refused():
    two = {"total": 2, "quorum": 2, "votes": {"host1": 1, "host2": 1}}
    (reason,) = drain.refusals("host1", view(), steps_of(), two, FENCING)
    assert "1 votes fall short of quorum 2" in reason
    # Two-node mode and a quorum device keep quorum with one node gone.
    two_node = {"total": 2, "quorum": 1, "votes": {"host1": 1, "host2": 1}}
    assert drain.refusals("host1", view(), steps_of(), two_node, FENCING) == []
    qdevice = {"total": 3, "quorum": 2, "votes": {"host1": 1, "host2": 1, "Qdevice": 1}}
    assert drain.refusals("host1", view(), steps_of(), qdevice, FENCING) == []
    unknown = drain.refusals("host1", view(), steps_of(), XenhaError("no corosync"), FENCING)
    assert unknown == ["cannot tell whether the cluster keeps quorum without host1: no corosync"]


def test_fencing_that_does_not_answer_is_refused():
    failing = (False, "level 1: fence-host1-ilo: connection refused")
    (reason,) = drain.refusals("host1", view(), steps_of(), QUORUM, failing)
    assert reason == (
        "host1's fencing does not answer a status probe: level 1: fence-host1-ilo: "
        "connection refused"
    )
    (reason,) = drain.refusals("host1", view(), steps_of(), QUORUM, XenhaError("no CIB"))
    assert reason == "cannot probe host1's fence devices: no CIB"


def test_hosts_without_the_memory_for_the_vms_are_refused():
    steps = steps_of("host1")
    targets = {c.target for _, s in steps for c in s if c.rsc.startswith("vm-")}
    assert len(targets) == 1  # both go where fewest resources run
    (reason,) = drain.refusals("host1", view(p=pool(free=int(1.5 * GiB))), steps, QUORUM, FENCING)
    assert reason == "vm-vm1, vm-vm3 need 2.0 GiB on host %s, which has 1.5 GiB free" % (
        targets.pop()
    )
    (reason,) = drain.refusals("host1", view(p=None), steps, QUORUM, FENCING)
    assert reason == "cannot tell whether the other hosts have the memory for host1's VMs"
    unknown = pool()
    for h in unknown["hosts"]:
        h["memory_free"] = None
    (reason,) = drain.refusals("host1", view(p=unknown), steps, QUORUM, FENCING)
    assert reason.startswith("cannot tell the free memory of host host")


def test_corosync_quorumtool_is_read_with_its_quorum_device(monkeypatch):
    out = """Quorum information
------------------
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      3
Quorum:           2
Flags:            Quorate Qdevice

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW host1 (local)
         2          1    A,V,NMW host2
         0          1            Qdevice
"""
    monkeypatch.setattr(pacemaker, "_run", lambda argv, timeout: (0, out, ""))
    assert pacemaker.quorum() == {
        "total": 3,
        "quorum": 2,
        "votes": {"host1": 1, "host2": 1, "Qdevice": 1},
    }
    monkeypatch.setattr(pacemaker, "_run", lambda argv, timeout: (1, "", "Cannot initialize"))
    with pytest.raises(pacemaker.PacemakerError, match="Cannot initialize"):
        pacemaker.quorum()


class FakeCluster:
    """The verbs a drain calls and a cluster that moves a banned VM away after a poll."""

    def __init__(self, stuck=()):
        self.calls = []
        self.view = cluster()
        self.stuck = set(stuck)

    def ban(self, rsc, node):
        self.calls.append(("ban", rsc, node))

    def clear(self, rsc, node=None):
        self.calls.append(("clear", rsc, node))

    def wait_idle(self, seconds):
        self.calls.append(("wait_idle",))

    def standby(self, node, on=True):
        self.calls.append(("standby", node, on))
        running = self.view["running"]
        for rsc, where in list(running.items()):
            if rsc.startswith("pool-master") and (node, "Promoted") in where:
                running[rsc] = [("host3", "Promoted")]

    def read_cluster(self):
        for call in self.calls:
            if call[0] == "ban" and call[1] not in self.stuck:
                self.view["running"][call[1]] = [("host3", "Started")]
        return self.view


def test_a_drain_bans_each_vm_then_standby_then_takes_the_bans_back():
    fake = FakeCluster()
    lines = []
    drain.Drain("host2", lines.append, fake, fake.read_cluster).run(Deadline(30))
    assert fake.calls == [
        ("ban", "vm-vm2", "host2"),
        ("ban", "vm-vm4", "host2"),
        ("standby", "host2", True),
        ("clear", "vm-vm2", "host2"),
        ("clear", "vm-vm4", "host2"),
    ]
    assert lines[-1] == "pool master on host3"


def test_a_drain_that_cannot_finish_takes_its_bans_back_and_says_what_moved(monkeypatch):
    monkeypatch.setattr(drain, "POLL", 0.05)
    fake = FakeCluster(stuck={"vm-vm4"})
    lines = []
    with pytest.raises(XenhaError, match="vm-vm4 did not leave host2 in time"):
        drain.Drain("host2", lines.append, fake, fake.read_cluster).run(Deadline(0.5))
    assert ("standby", "host2", True) not in fake.calls
    assert fake.calls[-3:] == [
        ("wait_idle",),  # a migration under way ends before its ban goes
        ("clear", "vm-vm2", "host2"),
        ("clear", "vm-vm4", "host2"),
    ]
    assert lines[-1] == (
        "the drain of host2 stopped; moved so far: vm-vm2 -> host3; host2 is not in standby"
    )


def failed(rsc, node, call):
    return {
        "op": rsc + "_migrate_to_0",
        "node": node,
        "status": "error",
        "reason": "boom",
        "call": str(call),
        "when": "2026-12-02 01:%02d:00Z" % call,
    }


@pytest.mark.parametrize("before", [[], [failed("vm-vm2", "host2", 10)]], ids=["new", "repeat"])
def test_a_failed_migration_stops_the_drain_at_once(before):
    """Also when the same operation already failed on that node before the drain: the
    repeat is a new run (call id, time), not the old failure."""
    fake = FakeCluster(stuck={"vm-vm2"})
    fake.view["failed_actions"] = list(before)
    real_ban = fake.ban

    def ban(rsc, node):
        real_ban(rsc, node)
        fake.view["failed_actions"][:] = [failed(rsc, node, 12)]

    fake.ban = ban
    with pytest.raises(XenhaError, match="vm-vm2 failed to leave host2: vm-vm2_migrate_to_0"):
        drain.Drain("host2", lambda line: None, fake, fake.read_cluster).run(Deadline(30))
    assert fake.calls[-1] == ("clear", "vm-vm2", "host2")


def test_the_plan_as_json_matches_its_schema_and_the_text_fits_80_columns():
    steps = steps_of("host2")
    plan = paper.plan("standby host2", steps, ["a reason " * 20], force=False)
    jsonschema.validate(plan, paper.PLAN_SCHEMA)
    assert plan["refusals"] and not plan["overridden"]
    forced = paper.plan("standby host2", steps, ["x"], force=True)
    assert forced["overridden"] == ["x"] and forced["refusals"] == []
    text = paper.render(plan)
    assert "vm-vm2: live host2 -> " in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_commands_help_and_their_error_without_a_cluster():
    for argv in (["node", "standby", "--help"], ["node", "online", "--help"]):
        proc = run_xenha(*argv)
        assert proc.returncode == 0 and "NODE" in proc.stdout
    env = dict(os.environ, PATH="/nonexistent")
    proc = run_xenha("node", "standby", "host1", "--dry-run", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("xenha: error: cannot tell: ") and "Traceback" not in proc.stderr


def test_a_second_ctrl_c_while_taking_back_still_takes_back_the_rest():
    fake = FakeCluster(stuck={"vm-vm4"})
    real_clear = fake.clear

    def clear(rsc, node=None):
        if rsc == "vm-vm2":
            raise KeyboardInterrupt
        real_clear(rsc, node)

    fake.clear = clear
    lines = []
    with pytest.raises(XenhaError):
        drain.Drain("host2", lines.append, fake, fake.read_cluster).run(Deadline(0.2))
    assert ("clear", "vm-vm4", "host2") in fake.calls
    assert lines[-2] == (
        "the ban of vm-vm2 is still there: crm_resource --clear --resource vm-vm2 --node host2"
    )


def test_a_node_going_offline_during_the_drain_stops_it():
    fake = FakeCluster(stuck={"vm-vm2"})
    real_ban = fake.ban

    def ban(rsc, node):
        real_ban(rsc, node)
        next(n for n in fake.view["nodes"] if n["name"] == "host3")["online"] = False

    fake.ban = ban
    with pytest.raises(XenhaError, match="stopping the drain: node host3 is offline"):
        drain.Drain("host2", lambda line: None, fake, fake.read_cluster).run(Deadline(30))


def test_a_master_no_other_node_may_take_is_refused():
    bans = "".join(
        '<rsc_location id="no-promote-%s" rsc="pool-master-clone" role="Promoted" '
        'score="-INFINITY" node="%s"/>' % (n, n)
        for n in ("host1", "host3")
    )
    cib = data("cib-live.xml").replace("<constraints>", "<constraints>" + bans, 1)
    steps = drain.preview("host2", cluster(), cib)
    assert "pool master host2 -> none" in words(steps)[-1][1]
    assert drain.refusals("host2", view(), steps, QUORUM, FENCING) == [
        "no other node would take the pool master from host2"
    ]


def test_a_vm_the_cluster_would_not_move_and_maintenance_are_refused():
    meta = '<nvpair name="is-managed" value="false" id="vm-vm2-meta_attributes-is-managed"/>'
    anchor = '<nvpair name="allow-migrate" value="true" id="vm-vm2-meta_attributes-allow-migrate"/>'
    cib = data("cib-live.xml").replace(anchor, anchor + meta, 1)
    steps = drain.preview("host2", cluster(), cib)
    assert drain.refusals("host2", view(), steps, QUORUM, FENCING) == [
        "vm-vm2 would not leave host2 (unmanaged, or held there)"
    ]
    c = cluster()
    c["maintenance"]["on"] = True
    reasons = drain.refusals("host2", view(c), steps_of("host2"), QUORUM, FENCING)
    assert reasons[0].startswith("maintenance is on: the cluster would move nothing")


def test_a_vm_whose_memory_cannot_be_told_is_refused():
    unknown = pool(vm_memory=None)
    reasons = drain.refusals("host1", view(p=unknown), steps_of("host1"), QUORUM, FENCING)
    assert reasons == ["cannot tell the memory vm-vm1, vm-vm3 need"]
