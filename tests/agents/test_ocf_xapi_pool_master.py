"""ocf:xenha:xapi-pool-master as Pacemaker drives the promotable clone, on the simulator.

Pool: host1 (master), host2, host3, one VM running on each. Every test ends with
the hypervisor truth's invariant (no VM on two hosts at once).
"""

import socket
import threading
import time

import pytest

from xenha import ocf
from xenha.deadline import Deadline
from xenha.lab.power.testing import free_port

HOSTS = ("host1", "host2", "host3")
# xapi's windows, shortened: a role change's fuse and restart of a few seconds.
POOL = {"hosts": 3, "vms": 3, "knobs": {"xapi_fuse": 1, "xapi_restart": 2}}


def master(pcmk, action, node, **kw):
    return pcmk.run("xapi-pool-master", action, node, instance="pool-master:0", **kw)


@pytest.fixture
def started(pcmk):
    for node in HOSTS:
        assert master(pcmk, "start", node).rc == ocf.SUCCESS
    return pcmk


def roles(pcmk):
    return [master(pcmk, "monitor", node).rc for node in HOSTS]


def old_master_back(pcmk, sim, rebooted=False):
    """The master host1 lost its power and was fenced, host2 was promoted, host1 has power
    again. ``rebooted``: host1's /run is empty as after a boot (:meth:`Pacemaker.reboot`)."""
    assert master(pcmk, "start", "host2").rc == ocf.SUCCESS  # it sees the master answer
    sim.power_off("host1")
    pcmk.fence("host1", action="reboot")
    assert master(pcmk, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    sim.power_on("host1")
    settled(sim, "host1")  # its xapi started (Pacemaker probes once the node has joined)
    if rebooted:
        pcmk.reboot("host1")
        assert sim.host_state("host1")["role"] == "master"  # of its own split pool


def settled(sim, *hosts, seconds=30):
    """Wait until each of ``hosts``' xapi runs, with no fuse lit and no emergency mode."""
    deadline = Deadline(seconds)

    def calm():
        states = [sim.xapi_state(h) for h in hosts]
        return all(
            s["xapi"] == "running" and not s["fuse_lit"] and not s["emergency"] for s in states
        )

    assert deadline.poll(calm, 0.2), [sim.xapi_state(h) for h in hosts]


def pool_master(sim):
    (name,) = [
        n for n in HOSTS if sim.host_state(n)["role"] == "master" and sim.host_state(n)["up"]
    ]
    return name


def test_monitor_reports_roles_and_sets_promotion_scores(started):
    assert roles(started) == [ocf.RUNNING_PROMOTED, ocf.SUCCESS, ocf.SUCCESS]
    assert started.scores()[-3:] == [
        "--promotion=pool-master:0 --update=100",
        "--promotion=pool-master:0 --update=10",
        "--promotion=pool-master:0 --update=10",
    ]


def test_not_running_before_start_and_after_stop(pcmk, sim):
    probe = master(pcmk, "monitor", "host2", meta={"interval": 0})
    assert (probe.rc, probe.reasons) == (ocf.NOT_RUNNING, [])
    assert master(pcmk, "start", "host2").rc == ocf.SUCCESS
    assert master(pcmk, "stop", "host2").rc == ocf.SUCCESS
    assert master(pcmk, "monitor", "host2").rc == ocf.NOT_RUNNING
    assert pcmk.scores()[-1] == "--promotion=pool-master:0 --delete"


def test_xapi_refusing_is_a_restart_trusted_for_a_grace_never_not_running(pcmk, sim):
    """Nothing listens at this host's endpoint: xapi restarting, as far as anyone can
    tell. The monitor reports pool.conf's role with a warning until the grace ends, then
    fails (never "not running"); a start waits within its timeout, then fails."""
    assert master(pcmk, "start", "host3").rc == ocf.SUCCESS
    down = {
        "xapi_url": "http://127.0.0.1:%d/" % free_port(socket.SOCK_STREAM),  # nothing listens
        "xapi_restart_grace": 2,
    }
    r = master(pcmk, "monitor", "host3", params=down, meta={"interval": 10000})
    assert r.rc == ocf.SUCCESS and "pool.conf says a slave" in r.stderr, r
    time.sleep(2)
    r = master(pcmk, "monitor", "host3", params=down, meta={"interval": 10000})
    assert r.rc == ocf.ERR_GENERIC and "has not answered for" in r.reason, r
    assert master(pcmk, "monitor", "host3").rc == ocf.SUCCESS  # answers again: grace reset
    r = master(pcmk, "start", "host2", params=down, meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "xapi on this host does not answer" in r.reason, r
    assert master(pcmk, "monitor", "host2").rc == ocf.NOT_RUNNING


def test_a_local_xapi_that_hangs_is_an_error_not_not_running(started, sim):
    sim.inject("*", "host3", 0, True)  # every call to host3 hangs
    r = master(started, "monitor", "host3", meta={"timeout": 4000, "interval": 10000})
    assert r.rc == ocf.ERR_GENERIC and "xapi on this host does not answer" in r.reason, r


def test_probe_on_the_master_says_promoted_and_its_instance_then_runs(pcmk, sim):
    probe = master(pcmk, "monitor", "host1", meta={"interval": 0})  # cluster start
    assert probe.rc == ocf.RUNNING_PROMOTED, probe
    assert pcmk.scores()[-1] == "--promotion=pool-master:0 --update=100"
    promoted = {"interval": 9000, "role": "Promoted"}
    assert master(pcmk, "monitor", "host1", meta=promoted).rc == ocf.RUNNING_PROMOTED
    assert master(pcmk, "start", "host2").rc == ocf.SUCCESS
    assert master(pcmk, "promote", "host2").rc == ocf.SUCCESS  # a planned move
    # the old master's instance runs on as Unpromoted, never "not running"
    assert master(pcmk, "monitor", "host1", meta={"interval": 10000}).rc == ocf.SUCCESS


def test_a_fenced_old_master_that_boots_rejoins_as_a_slave(started, sim):
    old_master_back(started, sim, rebooted=True)
    promoted = {"interval": 9000, "role": "Promoted"}
    assert master(started, "monitor", "host2", meta=promoted).rc == ocf.RUNNING_PROMOTED
    probe = master(started, "monitor", "host1", meta={"interval": 0})
    assert probe.rc == ocf.NOT_RUNNING and "old pool master" in probe.stderr, probe
    settled(sim, "host1")  # it restarts as a slave after the fuse
    assert sim.host_state("host1")["role"] == "slave"
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert sim.host_state("host2")["role"] == "master"  # the real master is never reset
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    assert roles(started) == [ocf.SUCCESS, ocf.RUNNING_PROMOTED, ocf.SUCCESS]


def test_a_split_old_master_demoted_rejoins_and_hands_nothing_over(pcmk, sim):
    """Pacemaker may demote the old master back from its fence (its probe found it
    master of its own split pool): demote rejoins the real master and never designates
    a master from the split pool."""
    old_master_back(pcmk, sim)
    r = master(pcmk, "demote", "host1", meta={"timeout": 60000})
    assert r.rc == ocf.SUCCESS, r
    assert "rejoining it as a slave" in r.stderr
    settled(sim, *HOSTS)
    assert pool_master(sim) == "host2"
    assert sim.host_state("host1")["role"] == "slave"


def test_the_real_master_never_resets_itself_for_a_stale_one(started, sim):
    old_master_back(started, sim)  # host1 claims master; host3 follows host2
    for meta in ({"interval": 0}, {"interval": 10000}, {"interval": 9000, "role": "Promoted"}):
        assert master(started, "monitor", "host2", meta=meta).rc == ocf.RUNNING_PROMOTED
        assert sim.host_state("host2")["role"] == "master"


def test_two_hosts_two_masters_the_last_fenced_rejoins(pcmk, sim):
    sim.power_off("host3")  # a two-host pool as far as anyone can tell
    old_master_back(pcmk, sim)
    probe2 = master(pcmk, "monitor", "host2", meta={"interval": 0})  # both probe
    assert probe2.rc == ocf.RUNNING_PROMOTED, probe2
    probe1 = master(pcmk, "monitor", "host1", meta={"interval": 0})
    assert probe1.rc == ocf.NOT_RUNNING and "old pool master" in probe1.stderr, probe1
    settled(sim, "host1")
    assert [sim.host_state(h)["role"] for h in ("host1", "host2")] == ["slave", "master"]


def test_two_masters_and_nothing_to_tell_which_is_old_is_an_error(pcmk, sim):
    sim.power_off("host3")
    old_master_back(pcmk, sim)
    pcmk.history_lost()
    for node in ("host1", "host2"):
        probe = master(pcmk, "monitor", node, meta={"interval": 0, "timeout": 6000})
        assert probe.rc == ocf.ERR_GENERIC and "both claim to be the pool master" in probe.reason
    assert [sim.host_state(h)["role"] for h in ("host1", "host2")] == ["master", "master"]


def test_a_rebooted_old_master_waits_for_the_fencing_history_to_reach_its_node(pcmk, sim):
    sim.power_off("host3")
    old_master_back(pcmk, sim)
    pcmk.history_lost()  # host1's fencer has not synced the history from its peers yet
    synced = threading.Timer(1.5, pcmk.fence, ("host1",), {"action": "reboot"})
    synced.start()
    probe = master(pcmk, "monitor", "host1", meta={"interval": 0})
    synced.join()
    assert probe.rc == ocf.NOT_RUNNING and "old pool master" in probe.stderr, probe
    settled(sim, "host1")  # it restarts as a slave after the fuse
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address


def test_a_host_in_maintenance_is_never_promoted(started, sim):
    sim.set_field("host", sim.host("host2").uuid, "enabled", False)
    assert master(started, "monitor", "host2").rc == ocf.SUCCESS
    assert started.scores()[-1] == "--promotion=pool-master:0 --update=-INFINITY"


def test_planned_move_by_promote_keeps_every_vm_running(started, sim):
    before = sim.truth()["domains"]
    assert master(started, "promote", "host2").rc == ocf.SUCCESS
    assert pool_master(sim) == "host2"
    assert roles(started) == [ocf.SUCCESS, ocf.RUNNING_PROMOTED, ocf.SUCCESS]
    assert sim.host_state("host3")["master_address"] == sim.host("host2").address
    assert master(started, "promote", "host2").rc == ocf.SUCCESS  # already master
    assert sim.truth()["domains"] == before


def test_planned_move_as_pacemaker_runs_it_demote_hands_over_to_the_promoted_node(started, sim):
    before = sim.truth()["domains"]
    notify = {
        "notify_type": "pre",
        "notify_operation": "demote",
        "notify_demote_uname": "host1",
        "notify_promote_uname": "host3",
    }
    for node in HOSTS:
        assert master(started, "notify", node, meta=notify).rc == ocf.SUCCESS
    assert master(started, "demote", "host1").rc == ocf.SUCCESS
    assert pool_master(sim) == "host3"
    assert master(started, "promote", "host3").rc == ocf.SUCCESS
    post = dict(notify, notify_type="post", notify_operation="promote")
    assert master(started, "notify", "host3", meta=post).rc == ocf.SUCCESS
    assert roles(started) == [ocf.SUCCESS, ocf.SUCCESS, ocf.RUNNING_PROMOTED]
    assert sim.truth()["domains"] == before


def test_demote_with_no_planned_target_hands_over_to_another_live_host(started, sim):
    sim.set_field("host", sim.host("host2").uuid, "enabled", False)
    assert master(started, "demote", "host1").rc == ocf.SUCCESS
    assert pool_master(sim) == "host3"  # host2 is in maintenance
    assert master(started, "demote", "host1").rc == ocf.SUCCESS  # not master: nothing to do


def test_dead_master_is_replaced_only_once_fenced(started, sim):
    sim.power_off("host1")
    r = master(started, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.ERR_GENERIC
    assert "no successful fence of node host1" in r.reason
    assert sim.host_state("host2")["role"] == "slave"
    started.fence("host1", action="reboot")
    r = master(started, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS, r
    assert sim.host_state("host2")["role"] == "master"
    # recover_slaves: the surviving slave follows the new master, once restarted
    settled(sim, "host3")
    assert sim.host_state("host3")["master_address"] == sim.host("host2").address
    assert [master(started, "monitor", n).rc for n in ("host2", "host3")] == [8, 0]


def test_dead_master_and_a_fencer_that_cannot_tell(started, sim):
    sim.power_off("host1")
    started.fencer_down()
    r = master(started, "promote", "host3", meta={"timeout": 30000})
    assert r.rc == ocf.ERR_GENERIC and "fencing history unavailable" in r.reason
    assert sim.host_state("host3")["role"] == "slave"


def test_monitor_on_a_slave_whose_master_is_dead(started, sim):
    sim.power_off("host1")
    r = master(started, "monitor", "host2", meta={"timeout": 6000})
    assert r.rc == ocf.SUCCESS, r
    assert started.scores()[-1] == "--promotion=pool-master:0 --update=5"


@pytest.mark.parametrize(
    "params,rc,why",
    [
        ({"xapi_insecure": "perhaps"}, ocf.ERR_CONFIGURED, "parameter xapi_insecure"),
        ({"host_map": "host2"}, ocf.ERR_CONFIGURED, "parameter host_map"),
        ({"host_map": "host2:ghost"}, ocf.ERR_CONFIGURED, "cannot find the pool host"),
        ({"xapi_password_file": "/nonexistent"}, ocf.ERR_INSTALLED, "missing on this node"),
    ],
)
def test_bad_parameters(pcmk, params, rc, why):
    r = master(pcmk, "validate-all", "host2", params=params)
    assert r.rc == rc and why in r.reason
    assert master(pcmk, "validate-all", "host2").rc == ocf.SUCCESS


def test_a_vm_of_an_old_master_back_from_its_fence_restarts_elsewhere(started, sim):
    """Back before its VM's start, the old master still believes it is master and would
    keep the VM recorded Running: start has the new master recover it, then starts it."""
    old = sim.host("host1")
    vm = next(v for v in sim.vms if v in sim.truth()["domains"][old.uuid])
    old_master_back(started, sim, rebooted=True)
    r = started.run("xen-vm", "start", "host2", instance="vm-1", params={"vm": vm})
    assert r.rc == ocf.SUCCESS, r
    assert "fenced since and back" in r.stderr
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert vm in sim.truth()["domains"][sim.host("host2").uuid]


@pytest.mark.parametrize("host", ["host1", "host2"])
def test_a_toolstack_restart_moves_nothing(started, sim, host):
    """xe-toolstack-restart on the master or a slave (issue 12, finding 4): its xapi
    refuses connections, then (a slave) answers HOST_STILL_BOOTING until its Pool.hello;
    every monitor meanwhile reports the role pool.conf says, never "not running"."""
    promoted = {"interval": 9000, "role": "Promoted"}
    sim.toolstack_restart(host, 6)
    deadline = Deadline(10)
    seen = set()
    while not deadline.expired():
        seen.add(sim.xapi_state(host)["xapi"])
        assert master(started, "monitor", "host1", meta=promoted).rc == ocf.RUNNING_PROMOTED
        for node in ("host2", "host3"):
            r = master(started, "monitor", node, meta={"interval": 10000})
            assert r.rc == ocf.SUCCESS, r
        time.sleep(0.5)
    assert "down" in seen  # the monitors did run while it restarted
    settled(sim, *HOSTS)
    assert roles(started) == [ocf.RUNNING_PROMOTED, ocf.SUCCESS, ocf.SUCCESS]
    assert pool_master(sim) == "host1"


def test_promote_never_takes_over_from_a_member_master_whose_xapi_is_cut(started, sim):
    """The old master's node is still a cluster member (corosync on another ring) but its
    XAPI does not answer, and an old fence of it is in the history (issue 12, finding 2):
    promote refuses, saying to fence it; it is never an emergency transition."""
    started.fence("host1", when=time.time() - 60, action="reboot")  # it rebooted since
    sim.isolate("host1", True)
    r = master(started, "promote", "host2", meta={"timeout": 10000})
    assert r.rc == ocf.ERR_GENERIC and "is a cluster member" in r.reason, r
    assert "fence node host1" in r.reason
    assert sim.host_state("host2")["role"] == "slave"
    assert pool_master(sim) == "host1"


def test_a_master_that_reaches_no_member_fails_its_promoted_monitor_after_a_grace(started, sim):
    """Its management network is cut while corosync still sees every node (here: the
    other hosts' xapi out of its reach): the Promoted monitor warns, then fails once
    isolation_grace has passed, so that the generated on-fail=fence fences it (no slave
    may take over while its node is a member). A refusal is an answer (only xapi is
    down there), and hosts whose nodes are not members do not count."""
    promoted = {"interval": 10000, "role": "Promoted", "timeout": 20000}
    grace = {"isolation_grace": "3"}

    def monitor():
        return master(started, "monitor", "host1", meta=promoted, params=grace)

    for host in ("host2", "host3"):
        sim.toolstack_restart(host, 5)
    r = monitor()
    assert r.rc == ocf.RUNNING_PROMOTED and "reaches no other host" not in r.stderr, r
    settled(sim, *HOSTS)
    for host in ("host2", "host3"):
        sim.isolate(host, True)
    r = monitor()
    assert r.rc == ocf.RUNNING_PROMOTED, r
    assert "reaches no other host whose node is a cluster member" in r.stderr
    time.sleep(3.5)
    r = monitor()
    assert r.rc == ocf.ERR_GENERIC, r
    assert "failing, so that Pacemaker fences this node" in r.reason
    sim.isolate("host2", False)  # one member answers again: the master serves its pool
    assert monitor().rc == ocf.RUNNING_PROMOTED
    sim.isolate("host2", True)
    for host in ("host2", "host3"):  # dead, and out of the membership: nobody to reach
        sim.power_off(host)
    assert monitor().rc == ocf.RUNNING_PROMOTED
    time.sleep(3.5)
    r = monitor()
    assert r.rc == ocf.RUNNING_PROMOTED and "reaches no other host" not in r.stderr, r


def test_last_seen_is_this_nodes_record_not_the_replica(pcmk, sim):
    """A fence after the replica's last sign of the master but before this node last saw
    it answer is an old fence the master came back from: promote refuses it."""
    began = time.time()  # the replica's times of host1 are from the pool's start
    pcmk.fence("host1", when=began + 3, action="reboot")
    time.sleep(4)
    assert master(pcmk, "start", "host2").rc == ocf.SUCCESS  # host2 sees host1 answer
    sim.power_off("host1")
    r = master(pcmk, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.ERR_GENERIC and "no successful fence of node host1" in r.reason, r
    assert sim.host_state("host2")["role"] == "slave"
    pcmk.fence("host1", action="reboot")  # fenced now: taken over
    assert master(pcmk, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
