"""ocf:xenha:xapi-pool-master as Pacemaker drives the promotable clone, on the simulator.

Pool: host1 (master), host2, host3, one VM running on each. Every test ends with
the hypervisor truth's invariant (no VM on two hosts at once).
"""

import os
import pathlib
import socket
import threading
import time

import pytest

from xenha import boot_role, ocf
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


@pytest.mark.parametrize("host", ["host1", "host2"])  # the master, a slave
def test_xencenters_maintenance_mode_is_told_to_the_cluster_and_taken_back(started, sim, host):
    """XenCenter's maintenance mode (other_config MAINTENANCE_MODE) is the operator's
    wish that the host be emptied: the node says so, and the generated configuration moves
    its VMs away live. A host disabled alone is no such wish: xapi disables its own host
    whenever it restarts."""
    from xenha.pool_agent import MAINTENANCE

    uuid = sim.host(host).uuid
    meta = PROMOTED if host == "host1" else None
    sim.set_field("host", uuid, "enabled", False)
    master(started, "monitor", host, meta=meta)
    assert started.node_attribute(host, MAINTENANCE) is None
    sim.set_field("host", uuid, "other_config", {"MAINTENANCE_MODE": "true"})
    r = master(started, "monitor", host, meta=meta)
    assert "this host is in maintenance mode" in r.stderr, r
    assert started.node_attribute(host, MAINTENANCE) == "true"
    pathlib.Path(started.dir, "attrs", "%s.%s" % (host, MAINTENANCE)).unlink()  # a restart
    master(started, "monitor", host, meta=meta)  # of Pacemaker dropped it: told again
    assert started.node_attribute(host, MAINTENANCE) == "true"
    sim.set_field("host", uuid, "other_config", {})  # xe host-enable removes it
    sim.set_field("host", uuid, "enabled", True)
    r = master(started, "monitor", host, meta=meta)
    assert "out of maintenance mode" in r.stderr, r
    assert started.node_attribute(host, MAINTENANCE) is None


@pytest.mark.parametrize("host", ["host1", "host2"])  # the master, a slave
def test_each_node_tells_the_cluster_its_xenha_version_once(started, sim, host):
    """For `xenha check`: every node's version, on any node."""
    from xenha import __version__
    from xenha.pool_agent import VERSION

    meta = PROMOTED if host == "host1" else None
    master(started, "monitor", host, meta=meta)
    assert started.node_attribute(host, VERSION) == __version__
    pathlib.Path(started.dir, "attrs", "%s.%s" % (host, VERSION)).unlink()
    master(started, "monitor", host, meta=meta)  # told once per start: not again
    assert started.node_attribute(host, VERSION) is None
    master(started, "stop", host)
    master(started, "start", host)
    master(started, "monitor", host, meta=meta)
    assert started.node_attribute(host, VERSION) == __version__


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


# -- a rebooted master is parked at boot (xenha-boot-role) ---------------------------------

PROMOTED = {"interval": 9000, "role": "Promoted"}


def parked_reboot(pcmk, sim, host="host1"):
    """``host``, the master, lost its power; then it boots as a dom0 with xenha does:
    xenha-boot-role runs before xapi starts, with the record its Promoted monitor kept."""
    assert master(pcmk, "monitor", host, meta=PROMOTED).rc == ocf.RUNNING_PROMOTED  # records
    record = pcmk.env(host, "pool-master:0")["OCF_RESKEY_pool_record"]
    sim.power_off(host)
    pcmk.fence(host, action="reboot")
    yield  # what happens while it is down
    assert boot_role.park(sim.host(host).pool_conf, record) == sim.host(host).address
    sim.power_on(host)
    pcmk.reboot(host)
    assert Deadline(30).poll(lambda: sim.xapi_state(host)["xapi"] == "running", 0.2)
    state = sim.host_state(host)
    assert (state["role"], state["master_address"]) == ("slave", sim.host(host).address)


def test_a_rebooted_master_is_parked_and_follows_the_master_promoted_meanwhile(started, sim):
    """With the old master's boot parked, its xapi never acts as master: no two-masters
    record while host2 (promoted meanwhile) writes, and its probe has it follow host2."""
    reboot = parked_reboot(started, sim)
    next(reboot)
    assert master(started, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    next(reboot, None)
    assert master(started, "monitor", "host2", meta=PROMOTED).rc == ocf.RUNNING_PROMOTED
    probe = master(started, "monitor", "host1", meta={"interval": 0})
    assert probe.rc == ocf.NOT_RUNNING and "following it" in probe.stderr, probe
    settled(sim, *HOSTS)
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert pool_master(sim) == "host2"
    assert sim.masters_violations() == []
    assert [m["name"] for m in sim.masters() if m["end"] is None] == ["host2"]


def test_a_parked_master_that_followed_takes_over_when_that_master_dies(started, sim):
    """Failover after failover (the bench's third trial): host1 was parked and followed
    host2 (a call through its slave-local session, and then its xapi restarted); now
    host2 dies and host1 is promoted. Its emergency transition must not go through a
    session that xapi's restart ended: a slave checks a session it does not know with
    its master, and with host2 gone that call hangs."""
    reboot = parked_reboot(started, sim)
    next(reboot)
    assert master(started, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    next(reboot, None)
    assert master(started, "start", "host1").rc == ocf.SUCCESS  # follows host2
    settled(sim, *HOSTS)
    assert master(started, "monitor", "host1").rc == ocf.SUCCESS  # sees host2 answer
    sim.power_off("host2")
    started.fence("host2", action="reboot")
    r = master(started, "promote", "host1", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS, r
    settled(sim, "host1", "host3")
    assert pool_master(sim) == "host1"
    assert sim.masters_violations() == []


def test_a_parked_master_cut_off_from_its_pool_waits_and_never_acts_as_master(started, sim):
    reboot = parked_reboot(started, sim)
    next(reboot)
    assert master(started, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    next(reboot, None)
    for host in ("host2", "host3"):  # out of host1's reach (its management network cut)
        sim.isolate(host, True)
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    assert master(started, "monitor", "host1").rc == ocf.SUCCESS
    # No candidate while members it cannot reach may be master: its promote would refuse.
    assert started.scores()[-1] == "--promotion=pool-master:0 --delete"
    r = master(started, "promote", "host1", meta={"timeout": 10000})
    assert r.rc == ocf.ERR_GENERIC and "cannot tell" in r.reason, r  # members silent
    assert sim.host_state("host1")["role"] == "slave"
    for host in ("host2", "host3"):  # its network is back: it follows the pool's master
        sim.isolate(host, False)
    assert master(started, "monitor", "host1").rc == ocf.SUCCESS
    settled(sim, "host1")
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert sim.masters_violations() == []


def test_a_cold_start_promotes_the_parked_master_and_its_slaves_follow(started, sim):
    """The whole pool restarts (here: the master reboots with nobody promoted meanwhile):
    every slave follows the parked host, which resumes its role when promoted, once
    every member answers and none as a master."""
    reboot = parked_reboot(started, sim)
    next(reboot)
    next(reboot, None)
    for node in ("host2", "host3"):  # rebooted too: in emergency mode, no master answers
        sim.toolstack_restart(node, 1)
    assert Deadline(30).poll(
        lambda: all(sim.xapi_state(n)["xapi"] == "running" for n in ("host2", "host3")), 0.2
    )
    for node in ("host2", "host3"):  # HOST_STILL_BOOTING: a restart, within its grace
        assert sim.xapi_state(node)["emergency"]
        assert master(started, "monitor", node).rc == ocf.SUCCESS
    # A slave in emergency mode starts at once (the cluster's cold start promotes only
    # once every instance has started, and no master answers it before).
    assert master(started, "stop", "host3").rc == ocf.SUCCESS
    r = master(started, "start", "host3", meta={"timeout": 10000})
    assert r.rc == ocf.SUCCESS and "in emergency mode" in r.stderr, r
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    assert started.scores()[-1] == "--promotion=pool-master:0 --update=50"
    r = master(started, "promote", "host1", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS, r
    settled(sim, *HOSTS)
    assert pool_master(sim) == "host1"
    assert roles(started) == [ocf.RUNNING_PROMOTED, ocf.SUCCESS, ocf.SUCCESS]
    assert sim.masters_violations() == []


def test_a_slave_once_master_is_not_parked_when_its_parked_master_s_error_reaches_it(started, sim):
    """A cold start: host2's and host3's xapi, in emergency mode, refuse every login with
    the answer their Pool.hello got from parked host1, HOST_ITS_OWN_SLAVE (xapi.ml
    attempt_host_status_check_with_coordinator). host2 was master once, long ago, and
    its record of it is still there: it is no parked master (its pool.conf names host1),
    but a slave in emergency mode; its stale record goes."""
    from xenha.pool_agent import PARKED

    record = started.env("host2", "pool-master:0")["OCF_RESKEY_pool_record"]
    boot_role.remember(sim.host("host2").address, {sim.host("host1").address: "host1"}, record)
    reboot = parked_reboot(started, sim)
    next(reboot)
    next(reboot, None)
    for node in ("host2", "host3"):
        sim.toolstack_restart(node, 1)
    assert Deadline(30).poll(
        lambda: all(sim.xapi_state(n)["xapi"] == "running" for n in ("host2", "host3")), 0.2
    )
    r = master(started, "monitor", "host2")
    assert r.rc == ocf.SUCCESS and "in emergency mode" in r.stderr, r
    assert started.scores()[-1] == "--promotion=pool-master:0 --update=5"
    assert started.node_attribute("host2", PARKED) is None
    assert boot_role.recall(record) is None
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    assert master(started, "promote", "host1", meta={"timeout": 30000}).rc == ocf.SUCCESS
    settled(sim, *HOSTS)
    assert pool_master(sim) == "host1"
    assert sim.masters_violations() == []


def test_a_parked_master_never_resumes_while_a_master_it_cannot_reach_may_live(started, sim):
    """host2 was made master while host1 was down; now host2's node left the cluster
    without a fence (its stack stopped, or not fenced yet) and its xapi does not answer
    host1, while host3 still follows it. host1 must not resume: host2 may serve the pool.
    Once host2's node is fenced, it may."""
    reboot = parked_reboot(started, sim)
    next(reboot)
    assert master(started, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    next(reboot, None)
    settled(sim, "host2", "host3")
    sim.power_off("host2")  # gone from host1's view, and from the membership; no fence
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    r = master(started, "promote", "host1", meta={"timeout": 10000})
    assert r.rc == ocf.ERR_GENERIC and "cannot tell" in r.reason, r
    assert "node host2" in r.reason
    assert sim.host_state("host1")["role"] == "slave"
    started.fence("host2", action="off")
    r = master(started, "promote", "host1", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS, r
    assert sim.masters_violations() == []


def test_a_parked_host_never_follows_a_master_while_its_parked_word_stays(started, sim):
    """host1 booted parked and, reaching nobody, told the cluster so. Once it reaches
    host2 (promoted meanwhile) it follows host2 only after taking that word back: a word
    outliving the parking would let a later promotion take over from host1 as master
    while nobody reaches it. A word that cannot be taken back fails the monitor."""
    from xenha.pool_agent import PARKED

    reboot = parked_reboot(started, sim)
    next(reboot)
    assert master(started, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    next(reboot, None)
    for host in ("host2", "host3"):
        sim.isolate(host, True)
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    address = sim.host("host1").address
    assert started.node_attribute("host1", PARKED) == address
    for host in ("host2", "host3"):
        sim.isolate(host, False)
    stuck = pathlib.Path(started.dir, "attrs", "host1.%s.stuck" % PARKED)
    stuck.touch()
    r = master(started, "monitor", "host1")
    assert r.rc == ocf.ERR_GENERIC and "cannot take back" in r.reason, r
    assert sim.host_state("host1")["master_address"] == address  # still its own slave
    stuck.unlink()
    assert master(started, "monitor", "host1").rc == ocf.SUCCESS
    assert started.node_attribute("host1", PARKED) is None
    settled(sim, "host1")
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert sim.masters_violations() == []


def test_a_stale_parked_word_never_has_a_live_master_taken_over(started, sim):
    """host1 is the pool master and answers, yet its node still carries a 'parked' word
    (left from a boot it was parked in). A promotion of host2 is a planned move, never an
    emergency transition beside a live master."""
    from xenha.pool_agent import PARKED

    os.makedirs(os.path.join(started.dir, "attrs"), exist_ok=True)
    with open(os.path.join(started.dir, "attrs", "host1." + PARKED), "w") as f:
        f.write(sim.host("host1").address)
    r = master(started, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS and "planned move" in r.stderr, r
    assert "is parked" not in r.stderr
    settled(sim, *HOSTS)
    assert pool_master(sim) == "host2"
    assert sim.masters_violations() == []


def test_a_parked_master_never_resumes_while_another_host_is_master(started, sim):
    reboot = parked_reboot(started, sim)
    next(reboot)
    assert master(started, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    next(reboot, None)  # promoted before a monitor had it follow host2
    r = master(started, "promote", "host1", meta={"timeout": 10000})
    assert r.rc == ocf.ERR_GENERIC and "is the pool master" in r.reason, r
    assert pool_master(sim) == "host2"


def test_another_node_takes_over_from_a_parked_master_that_is_a_member(started, sim):
    """A cold start where Pacemaker promotes a slave rather than the parked host: the
    parked host is no master (its xapi follows itself), so the slave takes over."""
    reboot = parked_reboot(started, sim)
    next(reboot)
    next(reboot, None)
    r = master(started, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS and "is parked" in r.stderr, r
    settled(sim, *HOSTS)
    assert pool_master(sim) == "host2"
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert sim.masters_violations() == []


def test_a_parked_master_cut_off_and_a_member_is_taken_over_on_its_nodes_word(started, sim):
    """The old master boots parked and rejoins the cluster (corosync on another ring)
    before a slave is promoted, while nobody reaches its xapi. Its node says, in this
    boot, that its xapi is parked (a transient node attribute), so the promotion takes
    over instead of waiting for a fence that would change nothing."""
    reboot = parked_reboot(started, sim)
    next(reboot)
    next(reboot, None)
    assert master(started, "start", "host1").rc == ocf.SUCCESS
    address = sim.host("host1").address
    assert started.node_attribute("host1", "xenha-pool-parked") == address
    sim.isolate("host1", True)
    r = master(started, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS and "is parked" in r.stderr, r
    assert pool_master(sim) == "host2"
    assert sim.host_state("host1")["role"] == "slave"
    assert sim.masters_violations() == []
    sim.isolate("host1", False)  # its network back: it follows host2, and says so
    assert master(started, "monitor", "host1").rc == ocf.SUCCESS
    settled(sim, "host1")
    assert sim.host_state("host1")["master_address"] == sim.host("host2").address
    assert started.node_attribute("host1", "xenha-pool-parked") is None


def test_a_promotion_never_waits_for_the_word_of_a_master_back_from_its_fence(started, sim):
    """The race the lab's end to end (c) lost: the fenced master boots parked, cut off,
    and its node rejoins the cluster just before a slave's promote asks whether it is a
    member. It says that it is parked from its probe, which Pacemaker runs only once the
    promote's transition has ended: the promote refuses at once (no wait for a word that
    cannot come meanwhile), and the next one, after the probe told, takes over."""
    from xenha.pool_agent import PARKED

    reboot = parked_reboot(started, sim)
    next(reboot)
    next(reboot, None)
    sim.isolate("host1", True)
    t = time.monotonic()
    r = master(started, "promote", "host2", meta={"timeout": 120000})
    assert r.rc == ocf.ERR_GENERIC and "has not said yet whether it booted parked" in r.stderr, r
    assert time.monotonic() - t < 45, "it waited for its budget's half (60 s)"
    word = pathlib.Path(started.dir, "attrs", "host1." + PARKED)
    word.parent.mkdir(exist_ok=True)
    word.write_text(sim.host("host1").address)  # what its probe then tells
    r = master(started, "promote", "host2", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS and "is parked" in r.stderr, r
    assert pool_master(sim) == "host2"
    assert sim.host_state("host1")["role"] == "slave"
    assert sim.masters_violations() == []
