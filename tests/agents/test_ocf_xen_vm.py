"""ocf:xenha:xen-vm, every action and failure path, as Pacemaker drives it, on the simulator.

Pool: host1 (master), host2, host3; "web" runs on host3, "db" is halted, "tmpl" is
a template. Each node's agents ask their host's hypervisor through list_domains, which
prints the simulator's truth for that host (tests/agents/ocf_harness.py). Every test
ends with the hypervisor truth's invariant: no VM ever ran on two hosts at once.
"""

import os
import subprocess
import threading
import time

import pytest

from xenha import hypervisor, ocf
from xenha.lab.pool import list_domains

WEB = "6a1c58a2-0d4e-4c61-9d8e-3c2f1e0b7a11"
DB = "0f5e2b7c-9a64-4b1e-8c3d-2d7a9e4b6c22"
TMPL = "9b3d7e1f-4c2a-4e8b-a5d6-7f1c3b9e2d33"
STATE = {
    "hosts": [{"name": "host1"}, {"name": "host2"}, {"name": "host3"}],
    "vms": [
        {"name": "web", "uuid": WEB, "host": "host3"},
        {"name": "db", "uuid": DB},
        {"name": "tmpl", "uuid": TMPL, "is_a_template": True},
    ],
}

# xapi's windows, a role change's fuse and restart shortened to a few seconds.
POOL = {"state": STATE, "knobs": {"xapi_fuse": 1, "xapi_restart": 2}}


def xen_vm(pcmk, action, node, vm=WEB, **kw):
    params = dict({"vm": vm}, **kw.pop("params", {}))
    return pcmk.run("xen-vm", action, node, instance="vm-" + vm[:4], params=params, **kw)


def runs_on(sim, vm):
    """The hosts (names) whose hypervisor really runs ``vm``."""
    names = {h.uuid: h.name for h in sim.hosts}
    return sorted(names[h] for h, vms in sim.truth()["domains"].items() if vm in vms)


def power(sim, vm):
    return sim.record("VM", vm)["power_state"]


def master(pcmk, action, node, **kw):
    return pcmk.run("xapi-pool-master", action, node, instance="pool-master:0", **kw)


def calls(sim):
    """XAPI calls served so far by every host's endpoint."""
    return sum(sim.xapi_calls().values())


def open_to_others(tmp_path, sim):
    """A copy of the XAPI password file whose mode was reset to 0644."""
    path = tmp_path / "xapi.secret"
    path.write_text(sim.password() + "\n")
    path.chmod(0o644)
    return str(path)


# -- monitor -----------------------------------------------------------------------------


def test_monitor_running_here_elsewhere_and_halted(pcmk):
    assert xen_vm(pcmk, "monitor", "host3").rc == ocf.SUCCESS
    probe = xen_vm(pcmk, "monitor", "host2", meta={"interval": 0})
    assert (probe.rc, probe.reasons) == (ocf.NOT_RUNNING, [])
    assert "ERROR" not in probe.stderr  # a probe that finds nothing logs no error
    recurring = xen_vm(pcmk, "monitor", "host2", meta={"interval": 10000})
    assert recurring.rc == ocf.NOT_RUNNING and "no domain on this host" in recurring.reason
    halted = xen_vm(pcmk, "monitor", "host1", vm=DB, meta={"interval": 0})
    assert (halted.rc, halted.reasons) == (ocf.NOT_RUNNING, [])


def test_monitor_of_a_vm_given_by_uuid_asks_the_hypervisor_and_no_xapi(pcmk, sim):
    sim.inject("*", "", 0, True)  # no xapi answers at all
    before = calls(sim)
    for interval in (10000, 0):  # recurring, and a probe
        meta = {"timeout": 3000, "interval": interval}
        assert xen_vm(pcmk, "monitor", "host3", meta=meta).rc == ocf.SUCCESS
        assert xen_vm(pcmk, "monitor", "host2", meta=meta).rc == ocf.NOT_RUNNING
    assert calls(sim) == before
    assert sim.session_count("xenha-xen-vm") == 0


@pytest.mark.parametrize(
    "body,why",
    [
        ("sleep 30\n", "did not answer within"),
        ("echo 'xc: error: Could not obtain handle' >&2; exit 2\n", "failed (exit 2)"),
        ("echo 'Warning, ignoring unknown argument'\n", "something else than its domain list"),
    ],
)
def test_monitor_when_the_hypervisor_does_not_answer_is_an_error_never_not_running(pcmk, body, why):
    for node in ("host3", "host2"):  # where the VM runs, and where it does not
        pcmk.hypervisor_fails(node, body)
        for interval in (10000, 0):  # not even a probe says "not running" when it cannot tell
            r = xen_vm(pcmk, "monitor", node, meta={"timeout": 3000, "interval": interval})
            assert r.rc == ocf.ERR_GENERIC, r
            assert "cannot tell whether VM %s runs on this host" % WEB in r.reason
            assert why in r.reason


def test_monitor_by_name_when_xapi_does_not_answer_is_an_error_never_not_running(pcmk, sim):
    sim.inject("*", "host3", 0, True)  # host3's xapi hangs: the name cannot be resolved
    r = xen_vm(pcmk, "monitor", "host3", vm="web", meta={"timeout": 3000, "interval": 10000})
    assert r.rc == ocf.ERR_GENERIC, r
    assert "cannot reach XAPI" in r.reason
    r = xen_vm(pcmk, "monitor", "host3", vm="web", meta={"timeout": 3000, "interval": 0})
    assert r.rc == ocf.ERR_GENERIC  # not even a probe says "not running" when it cannot tell


def test_monitor_while_the_master_is_down_asks_the_hypervisor(pcmk, sim):
    sim.power_off("host1")  # the pool master
    meta = {"timeout": 8000, "interval": 10000}
    here = xen_vm(pcmk, "monitor", "host3", meta=meta)
    assert here.rc == ocf.SUCCESS, here
    elsewhere = xen_vm(pcmk, "monitor", "host2", meta=meta)
    assert elsewhere.rc == ocf.NOT_RUNNING  # the hypervisor knows: no domain there
    assert "no domain on this host" in elsewhere.reason


def test_monitor_by_name_with_nothing_listening_is_an_error(pcmk):
    params = {"xapi_url": "http://127.0.0.1:9/"}
    r = xen_vm(pcmk, "monitor", "host3", vm="web", params=params)
    assert r.rc == ocf.ERR_GENERIC and "cannot reach XAPI" in r.reason
    assert xen_vm(pcmk, "monitor", "host3", params=params).rc == ocf.SUCCESS  # by UUID


def test_a_name_label_is_resolved_once_and_remembered(pcmk, sim):
    assert xen_vm(pcmk, "monitor", "host3", vm="web").rc == ocf.SUCCESS  # through XAPI
    before = calls(sim)
    for _ in range(3):
        assert xen_vm(pcmk, "monitor", "host3", vm="web").rc == ocf.SUCCESS
    assert calls(sim) == before  # remembered for the instance: no XAPI call
    sim.inject("*", "", 0, True)  # XAPI gone: the remembered UUID still answers
    assert xen_vm(pcmk, "monitor", "host3", vm="web", meta={"timeout": 3000}).rc == ocf.SUCCESS
    pcmk.reboot("host3")  # /run emptied: nothing remembered, and nothing to ask
    r = xen_vm(pcmk, "monitor", "host3", vm="web", meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "cannot reach XAPI" in r.reason


def test_a_depth_10_monitor_keeps_one_session_per_node(pcmk, sim):
    deep = {"params": {"check_guest": "true"}, "meta": {"interval": 60000}, "depth": 10}
    for _ in range(5):
        assert xen_vm(pcmk, "monitor", "host3", **deep).rc == ocf.SUCCESS
    assert sim.session_count("xenha-xen-vm") == 1


def test_a_warning_of_the_xapi_library_lands_in_the_agents_log_with_its_tag(pcmk, tmp_path):
    """xenha.xapi warns (a session cache directory others can enter) through the log the
    action installed: HA_LOGFILE and stderr carry it under xen-vm(<instance>)."""
    cache = os.path.join(pcmk.rsctmp, "host3", "xenha-xapi")
    os.makedirs(cache, mode=0o755)
    os.chmod(cache, 0o755)
    logfile = tmp_path / "ha-log"
    deep = {"params": {"check_guest": "true"}, "depth": 10}  # a monitor that asks XAPI
    r = xen_vm(pcmk, "monitor", "host3", extra={"HA_LOGFILE": str(logfile)}, **deep)
    assert r.rc == ocf.SUCCESS, r
    lines = [line for line in logfile.read_text().splitlines() if "not caching" in line]
    assert len(lines) == 1 and lines[0].startswith("xen-vm(vm-6a1c)["), lines
    assert "WARNING: not caching XAPI sessions: %s is not private to us" % cache in lines[0]
    r = xen_vm(pcmk, "monitor", "host3", **deep)  # neither HA_LOGFILE nor HA_LOGFACILITY: stderr
    assert r.rc == ocf.SUCCESS, r
    assert "xen-vm(vm-6a1c) WARNING: not caching XAPI sessions" in r.stderr


def test_a_traced_monitor_shows_the_agents_lines_its_list_domains_and_xapi_calls(
    pcmk, sim, tmp_path
):
    trace = tmp_path / "monitor.trace"
    r = xen_vm(
        pcmk,
        "monitor",
        "host3",
        params={"check_guest": "true"},
        depth=10,
        extra={"OCF_TRACE_RA": "1", "OCF_TRACE_FILE": str(trace)},
    )
    assert r.rc == ocf.SUCCESS, r
    text = trace.read_text()
    assert "ocf_agents.xen_vm:monitor:" in text and "xenha.hypervisor:" in text
    assert "xenha.pool_agent:" in text
    list_domains = os.path.join(pcmk.hypervisors, "host3", "list_domains")
    assert "DEBUG: running %s" % list_domains in text
    assert "DEBUG: XAPI VM.get_by_uuid at %s" % sim.hosts[0].url in text
    with open(sim.password_file) as f:
        assert f.read().strip() not in text


# -- start -------------------------------------------------------------------------------


def test_start_a_halted_vm_here_and_again(pcmk, sim):
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS
    assert runs_on(sim, DB) == ["host2"]
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS  # idempotent
    assert runs_on(sim, DB) == ["host2"]
    assert xen_vm(pcmk, "monitor", "host2", vm=DB).rc == ocf.SUCCESS


def restarts(sim):
    """XAPI calls that start or stop a VM, so far."""
    served = sim.xapi_calls()
    return {m: n for m, n in served.items() if m.split(".")[-1] in RESTARTS and n}


RESTARTS = {"start", "start_on", "resume_on", "clean_shutdown", "hard_shutdown", "hard_reboot"}


def test_a_vm_moved_live_to_a_member_is_brought_back_live_never_restarted(pcmk, sim):
    """Pacemaker ran web on host2; it was moved live to host3 behind the cluster's back
    (XenCenter, xe vm-migrate). Pacemaker's recovery (host2's monitor finds no domain)
    starts it on host2: the start migrates it back, live; it never stops."""
    before = restarts(sim)
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.SUCCESS, r
    assert "a cluster member, moved there outside the cluster: migrating it back here" in r.stderr
    assert runs_on(sim, WEB) == ["host2"] and power(sim, WEB) == "Running"
    assert restarts(sim) == before
    assert sim.xapi_calls().get("Async.VM.pool_migrate")


def test_a_vm_moved_live_is_never_brought_back_to_a_host_in_maintenance(pcmk, sim):
    """host2 was disabled (XenCenter's maintenance mode evacuated it): its VM stays where
    XAPI put it, and the start says why; Pacemaker places it elsewhere."""
    sim.set_field("host", sim.host("host2").uuid, "enabled", False)
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.ERR_GENERIC and "this host is disabled in the pool" in r.reason, r
    assert runs_on(sim, WEB) == ["host3"]
    assert xen_vm(pcmk, "start", "host3").rc == ocf.SUCCESS  # where it runs: nothing to do
    assert runs_on(sim, WEB) == ["host3"]


def test_a_migration_of_a_vm_moved_outside_the_cluster_goes_from_where_it_runs(pcmk, sim):
    """Pacemaker migrates web from host1 to host2, but it runs on host3 (moved by hand):
    migrated from host3, live."""
    meta = {"migrate_source": "host1", "migrate_target": "host2"}
    r = xen_vm(pcmk, "migrate_to", "host1", meta=meta)
    assert r.rc == ocf.SUCCESS and "moved there outside the cluster" in r.stderr, r
    assert runs_on(sim, WEB) == ["host2"]
    assert xen_vm(pcmk, "migrate_from", "host2", meta=meta).rc == ocf.SUCCESS


def test_start_waits_for_a_live_members_xapi_to_resync_a_stale_record(pcmk, sim):
    """web's domain died on host3 while host3's xapi restarted: the record says Running
    there until host3's xapi is back and resyncs (as after a whole pool's power outage,
    until each host's xapi has started). The start waits for it instead of failing."""
    sim.toolstack_restart("host3", 3)
    sim.kill_domain(WEB)
    assert power(sim, WEB) == "Running"  # stale: host3's xapi is down
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.SUCCESS, r
    assert "a live cluster member: waiting for its xapi to resync it" in r.stderr
    assert runs_on(sim, WEB) == ["host2"]


def test_start_here_of_a_vm_recorded_here_without_a_domain_waits_for_the_resync(pcmk, sim):
    """db's domain on host1, the master, died while its xapi restarted; a master serves
    at once from the database it has and resyncs its own VMs only at the end of its
    start-up (xapi.ml): until then db is recorded Running here with no domain."""
    from xenha.deadline import Deadline

    assert xen_vm(pcmk, "start", "host1", vm=DB).rc == ocf.SUCCESS
    sim.toolstack_restart("host1", 2)
    sim.kill_domain(DB)
    assert Deadline(30).poll(lambda: sim.xapi_state("host1")["xapi"] == "running", 0.2)
    assert power(sim, DB) == "Running"  # stale, until the master's start-up resync
    r = xen_vm(pcmk, "start", "host1", vm=DB)
    assert r.rc == ocf.SUCCESS, r
    assert "a live cluster member: waiting for its xapi to resync it" in r.stderr
    assert runs_on(sim, DB) == ["host1"]


def test_start_refuses_when_the_dead_host_was_not_fenced(pcmk, sim):
    sim.power_off("host3")
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.ERR_GENERIC
    assert "no successful fence of node host3" in r.reason
    assert power(sim, WEB) == "Running"  # the pool's record is left alone


def test_start_refuses_when_the_only_fence_is_older_than_the_vm(pcmk, sim):
    pcmk.fence("host3", when=time.time() - 3600)
    pcmk.fence("host3", action="off", status="failed")
    pcmk.fence("host3", action="on")
    sim.power_off("host3")
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.ERR_GENERIC and "no successful fence of node host3" in r.reason


def test_start_refuses_when_the_fencer_cannot_tell(pcmk, sim):
    sim.power_off("host3")
    pcmk.fencer_down()
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.ERR_GENERIC and "fencing history unavailable" in r.reason
    assert power(sim, WEB) == "Running"


def test_start_takes_over_from_a_fenced_dead_host(pcmk, sim):
    sim.power_off("host3")
    pcmk.fence("host3", action="reboot")
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.SUCCESS, r
    assert runs_on(sim, WEB) == ["host2"]
    assert "declaring fenced host host3" in r.stderr


def test_start_on_a_fenced_host_that_still_runs_the_vm_waits_then_refuses(pcmk, sim):
    pcmk.fence("host3")  # the history says fenced, yet host3 is a member and runs the VM
    r = xen_vm(pcmk, "start", "host2", meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC
    assert "fenced since and back, and its xapi did not reset the VM in time" in r.reason
    assert runs_on(sim, WEB) == ["host3"]


def parked_since_boot(pcmk, sim, node):
    """``node`` says, as xapi-pool-master on a host parked at boot does, that its xapi is
    parked (PARKED) at its address."""
    from xenha.pool_agent import PARKED

    os.makedirs(os.path.join(pcmk.dir, "attrs"), exist_ok=True)
    with open(os.path.join(pcmk.dir, "attrs", "%s.%s" % (node, PARKED)), "w") as f:
        f.write(sim.host(node).address)


def test_start_takes_over_from_a_member_parked_since_its_fence_with_its_network_cut(pcmk, sim):
    """host3 was fenced after web started, booted parked and rejoined the cluster, but
    its management network is still cut: its xapi never resets the record. Fenced since
    web started and joined no pool since it booted, it runs web no more, and xapi, which
    cannot reach host3, resets the record."""
    sim.power_off("host3")
    pcmk.fence("host3")
    sim.isolate("host3", True)
    sim.power_on("host3")
    parked_since_boot(pcmk, sim, "host3")
    assert power(sim, WEB) == "Running"  # the pool's record is stale
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.SUCCESS, r
    assert "fenced since the VM started and parked since: resetting its record" in r.stderr
    assert runs_on(sim, WEB) == ["host2"]


def test_start_never_resets_a_vm_on_a_member_back_from_its_fence_that_is_not_parked(pcmk, sim):
    """The same, but host3 does not say it is parked: it may have joined the pool since
    its fence and received web by a migration (which keeps web's old start time), so
    only its own xapi may reset the record. Cut off, it can reset nothing, and its node
    says it is parked from its probe, which Pacemaker runs once the start's transition
    has ended: the start refuses within seconds, not at the end of its 300 s (the race
    of the lab's end to end (c), where the old master rejoined just before the starts)."""
    import time

    sim.power_off("host3")
    pcmk.fence("host3")
    sim.isolate("host3", True)
    sim.power_on("host3")
    t = time.monotonic()
    r = xen_vm(pcmk, "start", "host2", meta={"timeout": 300000})
    assert r.rc == ocf.ERR_GENERIC and "refusing for now; the next start decides" in r.reason, r
    assert time.monotonic() - t < 60
    assert power(sim, WEB) == "Running"
    parked_since_boot(pcmk, sim, "host3")  # what its probe then says
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.SUCCESS and "parked since: resetting its record" in r.stderr, r
    assert runs_on(sim, WEB) == ["host2"]


def test_start_never_acts_through_an_old_master_that_has_not_rejoined(pcmk, sim):
    """host1, the master, is fenced and replaced by host2, and boots still master of its
    own split pool: a start on host1 would go through host1's own xapi. Refused while
    the other hosts follow host2 (two masters never both accept a VM start)."""
    from xenha.deadline import Deadline

    assert master(pcmk, "start", "host2").rc == ocf.SUCCESS  # it sees the master answer
    sim.power_off("host1")
    pcmk.fence("host1", action="reboot")
    assert master(pcmk, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    sim.power_on("host1")
    assert Deadline(30).poll(lambda: sim.xapi_state("host1")["xapi"] == "running", 0.2)
    assert sim.host_state("host1")["role"] == "master"  # of its own split pool
    r = xen_vm(pcmk, "start", "host1", vm=DB, meta={"timeout": 20000})
    assert r.rc == ocf.ERR_GENERIC and "has not rejoined its pool yet" in r.reason, r
    assert "but %s is the master" % sim.host("host2").address in r.reason
    for host in ("host2", "host3"):  # restarting, longer than start asks: nobody confirms
        sim.toolstack_restart(host, 30)
    r = xen_vm(pcmk, "start", "host1", vm=DB, meta={"timeout": 20000})
    assert r.rc == ocf.ERR_GENERIC and "none of the other members' xapi answers" in r.reason
    assert runs_on(sim, DB) == []


def test_a_master_fenced_once_before_starts_vms_when_the_others_follow_it(pcmk, sim):
    """Failover after failover: host2, once fenced itself, is now the master the other
    hosts follow. Their answers back it, so a start through it goes ahead at once (it
    used to wait half its time for a rival's vote and then fail: every VM of the second
    failover stayed down)."""
    pcmk.fence("host2", when=time.time() - 3600, action="reboot")  # an old fence of host2
    assert master(pcmk, "start", "host2").rc == ocf.SUCCESS
    sim.power_off("host1")
    pcmk.fence("host1", action="reboot")
    assert master(pcmk, "promote", "host2", meta={"timeout": 30000}).rc == ocf.SUCCESS
    r = xen_vm(pcmk, "start", "host2", vm=DB, meta={"timeout": 40000})
    assert r.rc == ocf.SUCCESS, r
    assert runs_on(sim, DB) == ["host2"]


def test_start_resumes_a_suspended_vm_on_this_host(pcmk, sim):
    sim.set_field("VM", DB, "power_state", "Suspended")
    assert xen_vm(pcmk, "start", "host1", vm=DB).rc == ocf.SUCCESS
    assert runs_on(sim, DB) == ["host1"]


def test_start_never_makes_a_second_domain_where_one_runs(pcmk, sim):
    """The pool's record says halted (stale), yet the hypervisor has the VM's domain here."""
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS
    sim.set_field("VM", DB, "power_state", "Halted")
    r = xen_vm(pcmk, "start", "host2", vm=DB)
    assert r.rc == ocf.ERR_GENERIC and "already has a domain on this host" in r.reason, r
    assert runs_on(sim, DB) == ["host2"]


def test_start_ends_only_once_the_hypervisor_has_the_domain(pcmk, sim):
    pcmk.hypervisor_fails("host2", "exit 1\n")  # this host's hypervisor cannot be asked
    r = xen_vm(pcmk, "start", "host2", vm=DB, meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "cannot tell whether VM" in r.reason, r
    assert runs_on(sim, DB) == []  # nothing started while it cannot tell


def test_no_list_domains_fails_start_as_not_installed_but_never_a_probe(pcmk, sim):
    if os.path.exists("/opt/xensource/bin/list_domains"):
        pytest.skip("this machine has /opt/xensource/bin/list_domains")
    no_hypervisor = {"PATH": "%s:%s" % (pcmk.bin, os.environ["PATH"])}
    r = xen_vm(pcmk, "start", "host2", vm=DB, extra=no_hypervisor)
    assert r.rc == ocf.ERR_INSTALLED and "list_domains is neither on PATH" in r.reason
    assert xen_vm(pcmk, "validate-all", "host2", extra=no_hypervisor).rc == ocf.ERR_INSTALLED
    probe = xen_vm(pcmk, "monitor", "host3", meta={"interval": 0}, extra=no_hypervisor)
    assert probe.rc == ocf.ERR_GENERIC and "neither on PATH" in probe.reason, probe
    assert runs_on(sim, DB) == []


def test_start_fails_when_xapi_refuses(pcmk, sim):
    sim.inject("VM.start_on", "", 0, False, ["NO_HOSTS_AVAILABLE"])
    r = xen_vm(pcmk, "start", "host2", vm=DB)
    assert r.rc == ocf.ERR_GENERIC and "NO_HOSTS_AVAILABLE" in r.reason
    assert runs_on(sim, DB) == []


# -- stop --------------------------------------------------------------------------------


def test_stop_here_then_again(pcmk, sim):
    assert xen_vm(pcmk, "stop", "host3").rc == ocf.SUCCESS
    assert (power(sim, WEB), runs_on(sim, WEB)) == ("Halted", [])
    assert xen_vm(pcmk, "stop", "host3").rc == ocf.SUCCESS


def test_stop_elsewhere_leaves_the_vm_alone_and_asks_no_xapi(pcmk, sim):
    before = calls(sim)
    assert xen_vm(pcmk, "stop", "host1").rc == ocf.SUCCESS
    assert runs_on(sim, WEB) == ["host3"]
    assert calls(sim) == before  # the hypervisor has no domain of it: nothing to ask


def test_stop_falls_back_to_hard_shutdown(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, False, ["VM_BAD_POWER_STATE"])
    r = xen_vm(pcmk, "stop", "host3")
    assert r.rc == ocf.SUCCESS, r
    assert "forcing it off" in r.stderr and runs_on(sim, WEB) == []


def test_stop_fails_when_the_vm_cannot_be_stopped(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, False, ["VM_BAD_POWER_STATE"])
    sim.inject("VM.hard_shutdown", "", 0, False, ["INTERNAL_ERROR", "stuck"])
    began = time.time()
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": 1}, meta={"timeout": 4000})
    assert r.rc == ocf.ERR_GENERIC and "INTERNAL_ERROR" in r.reason, r
    assert "not stopped on this host" in r.reason
    assert time.time() - began > 3  # it kept trying for 0.9 of its timeout
    assert runs_on(sim, WEB) == ["host3"]


def test_stop_when_xapi_does_not_answer_keeps_trying_then_fails(pcmk, sim):
    sim.inject("*", "host3", 0, True)
    began = time.time()
    r = xen_vm(pcmk, "stop", "host3", meta={"timeout": 4000})
    assert r.rc == ocf.ERR_GENERIC and "cannot reach XAPI" in r.reason
    assert 3 < time.time() - began < 4
    assert runs_on(sim, WEB) == ["host3"]  # Pacemaker fences host3 next


def test_stop_when_xapi_answers_again_in_time_stops_the_vm(pcmk, sim):
    sim.inject("*", "host3", 0, True)
    back = threading.Timer(2.0, sim.clear_injections)
    back.start()
    r = xen_vm(pcmk, "stop", "host3", meta={"timeout": 10000})
    back.join()
    assert r.rc == ocf.SUCCESS, r
    assert runs_on(sim, WEB) == [] and power(sim, WEB) == "Halted"


@pytest.mark.parametrize("host", ["host3", "host1"])
def test_stop_during_a_toolstack_restart_waits_for_xapi_and_stops_the_vm(pcmk, sim, host):
    """xe-toolstack-restart on the VM's host or on the master (issue 12, finding 4): xapi
    refuses, then (a slave) answers HOST_STILL_BOOTING; the domain runs here, so stop
    keeps asking within its timeout and stops it, rather than fail at once (a fence)."""
    sim.toolstack_restart(host, 6)
    assert xen_vm(pcmk, "monitor", "host3").rc == ocf.SUCCESS  # the hypervisor answers
    r = xen_vm(pcmk, "stop", "host3", meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS, r
    assert runs_on(sim, WEB) == [] and power(sim, WEB) == "Halted"


def test_stop_asks_the_hypervisor_again_until_it_answers(pcmk, sim):
    pcmk.hypervisor_fails("host1", "exit 1\n")
    back = threading.Timer(1.5, pcmk.hypervisor_answers, ("host1",))
    back.start()
    began = time.time()
    r = xen_vm(pcmk, "stop", "host1", meta={"timeout": 10000})
    back.join()
    assert r.rc == ocf.SUCCESS and time.time() - began > 1.5, r
    pcmk.hypervisor_fails("host1", "sleep 30\n")
    r = xen_vm(pcmk, "stop", "host1", meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "did not answer within" in r.reason, r


def test_stop_keeps_within_its_timeout_whatever_shutdown_timeout_says(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, True)  # the guest never shuts down
    sim.inject("VM.hard_shutdown", "", 0, True)  # and xapi never reports it forced off
    began = time.time()
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": 30}, meta={"timeout": 8000})
    assert time.time() - began < 8  # clean 0.6 x 8 s, hard the rest up to 0.9 x 8 s
    assert r.rc == ocf.ERR_GENERIC and "hard_shutdown" in r.reason, r
    assert "does not fit in the stop timeout" in r.stderr


def test_stop_while_the_master_is_down_asks_the_hypervisor(pcmk, sim):
    sim.power_off("host1")  # the pool master
    meta = {"timeout": 5000}
    elsewhere = xen_vm(pcmk, "stop", "host2", meta=meta)
    assert elsewhere.rc == ocf.SUCCESS, elsewhere  # definitely not here
    here = xen_vm(pcmk, "stop", "host3", meta=meta)
    assert here.rc == ocf.ERR_GENERIC and "cannot reach XAPI" in here.reason, here
    assert runs_on(sim, WEB) == ["host3"]  # Pacemaker fences host3 next


def test_a_vm_started_after_the_last_replica_push_is_never_run_twice(pcmk, sim):
    """Issue 12, finding 1. DB starts on host2 after the master last pushed its database:
    host2's and host3's replicas say DB is halted. The master loses its power. A stop on
    host2 that asked host2's own xapi (its replica) said "not here", returned 0, and
    Pacemaker started DB elsewhere: twice. The hypervisor sees the domain, so stop fails;
    Pacemaker fences host2, promotes host3 (an emergency master serving its replica) and
    starts DB there: once. (start pushes the database to every host; here that push
    fails, as it does while a host is out of the master's reach.)"""
    sim.set_timing("db_sync_interval", 3600)  # no push during the test
    assert master(pcmk, "start", "host3").rc == ocf.SUCCESS  # it sees the master answer
    sim.inject("pool.sync_database", "", 0, False, ["INTERNAL_ERROR", "push failed"])
    started = xen_vm(pcmk, "start", "host2", vm=DB)
    assert started.rc == ocf.SUCCESS, started  # the VM runs: a failed push is a warning
    assert "cannot push the pool database to the hosts" in started.stderr
    assert sim.record("VM", DB, "host2")["power_state"] == "Halted"  # the stale replica
    sim.power_off("host1")
    pcmk.fence("host1")
    meta = {"timeout": 5000}
    stop = xen_vm(pcmk, "stop", "host2", vm=DB, meta=meta)
    assert stop.rc == ocf.ERR_GENERIC, stop  # never 0 while the domain runs here
    assert runs_on(sim, DB) == ["host2"]
    assert xen_vm(pcmk, "monitor", "host2", vm=DB, meta=meta).rc == ocf.SUCCESS
    sim.power_off("host2")  # the failed stop: Pacemaker fences host2
    pcmk.fence("host2")
    assert master(pcmk, "promote", "host3", meta={"timeout": 30000}).rc == ocf.SUCCESS
    assert sim.record("VM", DB, "host3")["power_state"] == "Halted"  # the new master's view
    r = xen_vm(pcmk, "start", "host3", vm=DB, meta={"timeout": 30000})
    assert r.rc == ocf.SUCCESS, r
    assert runs_on(sim, DB) == ["host3"]  # and the sim fixture: it never ran twice


def test_start_and_migration_push_the_vms_new_home_to_every_replica(pcmk, sim):
    """xapi pushes its database to one slave at a time, 300 s apart; after an emergency
    transition each host's xapi shuts down a local domain that the new master's database
    (a replica) places on another host (xapi_xenops.ml resync_resident_on). So start and
    migrate_to push the database to every host at once (Pool.sync_database)."""
    sim.set_timing("db_sync_interval", 3600)  # no push of xapi's own during the test
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS
    host2 = sim.record("VM", DB)["resident_on"]
    for replica in ("host2", "host3"):
        assert sim.record("VM", DB, replica)["power_state"] == "Running"
        assert sim.record("VM", DB, replica)["resident_on"] == host2
    meta = {"migrate_source": "host2", "migrate_target": "host3"}
    assert xen_vm(pcmk, "migrate_to", "host2", vm=DB, meta=meta).rc == ocf.SUCCESS
    host3 = sim.record("VM", DB)["resident_on"]
    for replica in ("host2", "host3"):
        assert sim.record("VM", DB, replica)["resident_on"] == host3


def test_stop_never_asks_xapi_to_stop_a_vm_the_pool_records_elsewhere(pcmk, sim):
    """The domain runs here, the (stale) record says host3: XAPI would act on host3."""
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS
    sim.set_field("VM", DB, "resident_on", sim.record("VM", WEB)["resident_on"])
    r = xen_vm(pcmk, "stop", "host2", vm=DB, meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "the pool records it Running on host3" in r.reason, r
    assert power(sim, DB) == "Running" and runs_on(sim, DB) == ["host2"]
    assert runs_on(sim, WEB) == ["host3"]


def test_stop_with_an_invalid_optional_parameter_still_stops_the_vm(pcmk, sim):
    """Issue 12, finding 5: a failed stop gets the node fenced, so a bad shutdown_timeout
    is a warning and stop goes on with its default."""
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": "-5"})
    assert r.rc == ocf.SUCCESS, r
    assert "parameter shutdown_timeout: -5 is not a positive number" in r.stderr
    assert "stop goes on as if it were unset" in r.stderr
    assert runs_on(sim, WEB) == [] and power(sim, WEB) == "Halted"
    # ... while start and validate-all report it as what it is
    r = xen_vm(pcmk, "start", "host3", params={"shutdown_timeout": "-5"})
    assert r.rc == ocf.ERR_CONFIGURED and "parameter shutdown_timeout" in r.reason


def test_stop_of_a_vm_that_no_longer_exists_succeeds(pcmk):
    r = xen_vm(pcmk, "stop", "host3", vm="00000000-0000-4000-8000-000000000000")
    assert r.rc == ocf.SUCCESS and r.reasons == []


# -- migration ---------------------------------------------------------------------------


def test_live_migration(pcmk, sim):
    meta = {"migrate_source": "host3", "migrate_target": "host1"}
    assert xen_vm(pcmk, "migrate_to", "host3", meta=meta).rc == ocf.SUCCESS
    assert runs_on(sim, WEB) == ["host1"]
    assert xen_vm(pcmk, "migrate_from", "host1", meta=meta).rc == ocf.SUCCESS
    assert xen_vm(pcmk, "migrate_to", "host3", meta=meta).rc == ocf.SUCCESS  # already there
    wrong = xen_vm(pcmk, "migrate_from", "host2", meta=meta)
    assert wrong.rc == ocf.ERR_GENERIC and "did not arrive" in wrong.reason
    assert "no domain of VM %s on this host" % WEB in wrong.reason


def test_migrate_to_ends_only_once_no_domain_is_left_here(pcmk, sim):
    pcmk.hypervisor_fails("host3", "exit 1\n")  # the source's hypervisor cannot tell
    meta = {"migrate_source": "host3", "migrate_target": "host1", "timeout": 3000}
    r = xen_vm(pcmk, "migrate_to", "host3", meta=meta)
    assert r.rc == ocf.ERR_GENERIC and "but this host's hypervisor" in r.reason, r
    assert runs_on(sim, WEB) == ["host1"]  # the migration itself was done


def test_migrate_from_waits_while_the_arriving_domain_has_its_temporary_id(pcmk, sim, tmp_path):
    """xenopsd names the destination domain uuid[:24] + "000000000001" until its
    Post_migration rename (xenops_server.ml tmp_uuid_of): not yet "here", nor "absent"."""
    meta = {"migrate_source": "host3", "migrate_target": "host1"}
    assert xen_vm(pcmk, "migrate_to", "host3", meta=meta).rc == ocf.SUCCESS
    real = list_domains.write_wrapper(str(tmp_path / "real"), "host1", sim.control_url)
    rows = hypervisor.parse(subprocess.check_output([real], universal_newlines=True))
    arriving = tmp_path / "arriving"
    arriving.write_text(
        list_domains.table(
            [
                [str(d.domid), d.uuid if d.uuid != WEB else WEB[:24] + "000000000001", "  P  H"]
                for d in rows
            ]  # fmt: skip
        )
    )
    count = tmp_path / "count"
    pcmk.hypervisor_fails(
        "host1",
        'n=$(cat "%s" 2>/dev/null || echo 0); echo $((n + 1)) > "%s"\n'
        'if [ "$n" -lt 3 ]; then cat "%s"; else exec "%s"; fi\n' % (count, count, arriving, real),
    )
    r = xen_vm(pcmk, "migrate_from", "host1", meta=meta)
    assert r.rc == ocf.SUCCESS, r
    assert int(count.read_text()) > 3  # asked again until the rename
    pcmk.hypervisor_fails("host1", 'cat "%s"\n' % arriving)  # never renamed
    r = xen_vm(pcmk, "migrate_from", "host1", meta=dict(meta, timeout=3000))
    assert r.rc == ocf.ERR_GENERIC and "is migrating" in r.reason, r


def test_a_migration_longer_than_a_call_timeout_is_waited_for(pcmk, sim):
    sim.inject("VM.pool_migrate", "", 5, False, None, 1)  # the migration takes 5 s
    meta = {"migrate_source": "host3", "migrate_target": "host1", "timeout": 10000}
    r = xen_vm(pcmk, "migrate_to", "host3", meta=meta)
    assert r.rc == ocf.SUCCESS, r
    assert runs_on(sim, WEB) == ["host1"]


def test_a_migration_past_the_timeout_is_cancelled(pcmk, sim):
    sim.inject("VM.pool_migrate", "", 60, False, None, 1)
    meta = {"migrate_source": "host3", "migrate_target": "host1", "timeout": 4000}
    began = time.time()
    r = xen_vm(pcmk, "migrate_to", "host3", meta=meta)
    assert time.time() - began < 4
    assert r.rc == ocf.ERR_GENERIC and "cancelled: TASK_CANCELLED" in r.reason, r
    time.sleep(0.5)
    assert runs_on(sim, WEB) == ["host3"] and power(sim, WEB) == "Running"


def test_migrate_to_without_a_target_or_from_elsewhere(pcmk):
    assert xen_vm(pcmk, "migrate_to", "host3").rc == ocf.ERR_CONFIGURED
    r = xen_vm(pcmk, "migrate_to", "host2", vm=DB, meta={"migrate_target": "host1"})
    assert r.rc == ocf.ERR_GENERIC and "not running on this host" in r.reason  # halted


# -- names, parameters, validate-all --------------------------------------------------------


def test_a_name_label_works_when_unique(pcmk):
    assert xen_vm(pcmk, "monitor", "host3", vm="web").rc == ocf.SUCCESS


def test_an_ambiguous_name_is_a_configuration_error_at_start_only(pcmk, sim):
    """Issue 12, finding 5: elsewhere it is an error with a reason, never
    ERR_CONFIGURED (Pacemaker would ban the VM on every node; a failed stop fences)."""
    sim.set_field("VM", DB, "name_label", "web")
    r = xen_vm(pcmk, "start", "host2", vm="web")
    assert r.rc == ocf.ERR_CONFIGURED
    assert "ambiguous" in r.reason and WEB in r.reason and DB in r.reason
    r = xen_vm(pcmk, "monitor", "host2", vm="web")
    assert r.rc == ocf.ERR_GENERIC and "ambiguous" in r.reason
    # stop: one of the VMs of that name runs on host3, so it cannot say it stopped it
    r = xen_vm(pcmk, "stop", "host3", vm="web")
    assert r.rc == ocf.ERR_GENERIC and "ambiguous" in r.reason and WEB in r.reason, r
    assert runs_on(sim, WEB) == ["host3"]
    # ... but nothing of that name runs on host1: stopped there
    assert xen_vm(pcmk, "stop", "host1", vm="web").rc == ocf.SUCCESS


def test_a_password_file_open_to_others_is_never_a_configuration_error(pcmk, sim, tmp_path):
    """Issue 12, finding 5: its mode reset to 0644 on one node."""
    params = {"xapi_password_file": open_to_others(tmp_path, sim), "check_guest": "true"}
    deep = xen_vm(pcmk, "monitor", "host3", params=params, depth=10)
    assert deep.rc == ocf.ERR_GENERIC and "accessible to group or others" in deep.reason, deep
    by_name = xen_vm(pcmk, "monitor", "host3", vm="web", params=params)
    assert by_name.rc == ocf.ERR_GENERIC, by_name
    # the hypervisor answers without it
    assert xen_vm(pcmk, "monitor", "host3", params=params).rc == ocf.SUCCESS
    assert xen_vm(pcmk, "stop", "host2", params=params).rc == ocf.SUCCESS
    r = xen_vm(pcmk, "stop", "host3", params=params, meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "accessible to group or others" in r.reason, r
    assert runs_on(sim, WEB) == ["host3"]
    r = xen_vm(pcmk, "start", "host2", vm=DB, params=params)
    assert r.rc == ocf.ERR_INSTALLED, r  # start: not on this node


def test_a_host_renamed_in_xencenter_is_never_a_configuration_error(pcmk, sim):
    """Issue 12, finding 5: host3's name-label, which its node maps to, changes."""
    sim.set_field("host", sim.host("host3").uuid, "name_label", "rack2-slot3")
    deep = {"params": {"check_guest": "true"}, "depth": 10}
    assert xen_vm(pcmk, "monitor", "host3", **deep).rc == ocf.SUCCESS  # no host needed
    r = xen_vm(pcmk, "stop", "host3", meta={"timeout": 3000})
    assert r.rc == ocf.ERR_GENERIC and "cannot find the pool host of node host3" in r.reason
    assert runs_on(sim, WEB) == ["host3"]  # not stopped through a guess
    r = xen_vm(pcmk, "start", "host3", vm=DB)
    assert r.rc == ocf.ERR_INSTALLED and "set host_map" in r.reason, r  # this node only


@pytest.mark.parametrize(
    "params,why",
    [
        ({"xapi_insecure": "maybe"}, "parameter xapi_insecure"),
        ({"shutdown_timeout": "-5"}, "parameter shutdown_timeout"),
        ({"shutdown_timeout": "soon"}, "parameter shutdown_timeout"),
        ({"host_map": "host1=h1"}, "parameter host_map"),
        ({"host_map": "host2:nosuchhost"}, "cannot find the pool host of node host2"),
        ({"xapi_url": "ftp://x"}, "must start with http"),
        ({"vm": "no-such-vm"}, "no VM named 'no-such-vm'"),
        ({"vm": TMPL}, "template"),
    ],
)
def test_bad_parameters_are_configuration_errors_with_a_reason(pcmk, params, why):
    r = xen_vm(pcmk, "validate-all", "host2", params=params)
    assert r.rc == ocf.ERR_CONFIGURED, r
    assert why in r.reason


def test_validate_all_accepts_a_good_configuration_and_a_host_map(pcmk, sim):
    assert xen_vm(pcmk, "validate-all", "host2").rc == ocf.SUCCESS
    pcmk.place("node-a", "host3")
    m = {"host_map": "node-a:%s;node-b:host2" % sim.host("host3").uuid}
    params = dict(m, xapi_url=sim.host("host3").url)
    assert xen_vm(pcmk, "validate-all", "node-a", params=params).rc == ocf.SUCCESS
    r = xen_vm(pcmk, "validate-all", "node-a", params={"xapi_url": sim.host("host3").url})
    assert r.rc == ocf.ERR_CONFIGURED and "cannot find the pool host of node node-a" in r.reason
    assert xen_vm(pcmk, "monitor", "node-a", params=params).rc == ocf.SUCCESS
    assert xen_vm(pcmk, "stop", "node-a", vm=DB, params=params).rc == ocf.SUCCESS


def test_validate_all_refuses_a_control_domain(pcmk, sim):
    from xenha.xapi import Client, Settings

    settings = Settings(url=sim.master.url, password_file=sim.password_file)
    with Client(settings, cache_dir=None) as c:
        dom0 = c.xenapi.host.get_control_domain(c.resolve_host("host1"))
        uuid = c.xenapi.VM.get_uuid(dom0)
    r = xen_vm(pcmk, "validate-all", "host1", vm=uuid)
    assert r.rc == ocf.ERR_CONFIGURED and "control domain" in r.reason


def test_missing_vm_fails_start_but_never_stop(pcmk):
    r = xen_vm(pcmk, "start", "host2", params={"vm": "<unset>"})
    assert r.rc == ocf.ERR_CONFIGURED and "required parameter vm" in r.reason
    assert xen_vm(pcmk, "stop", "host2", params={"vm": "<unset>"}).rc == ocf.SUCCESS


def test_missing_password_file_is_local_and_a_probe_asks_the_hypervisor(pcmk):
    """A probe never answers ERR_INSTALLED, which Pacemaker >= 2.1.3 reads as "not
    running": the hypervisor answers it; start fails on this node only."""
    missing = {"xapi_password_file": "/nonexistent"}
    probe = {"interval": 0}
    assert xen_vm(pcmk, "monitor", "host3", params=missing, meta=probe).rc == ocf.SUCCESS
    assert xen_vm(pcmk, "monitor", "host2", params=missing, meta=probe).rc == ocf.NOT_RUNNING
    r = xen_vm(pcmk, "monitor", "host3", vm="web", params=missing, meta=probe)
    assert r.rc == ocf.ERR_GENERIC and "missing on this node" in r.reason  # cannot resolve
    r = xen_vm(pcmk, "start", "host2", vm=DB, params=missing)
    assert r.rc == ocf.ERR_INSTALLED and "missing on this node" in r.reason


# -- deeper checks and other power states ---------------------------------------------------


def test_depth_10_checks_the_guest_agent_when_asked(pcmk, sim):
    deep = {"params": {"check_guest": "true"}, "meta": {"interval": 60000}, "depth": 10}
    assert xen_vm(pcmk, "monitor", "host3", **deep).rc == ocf.SUCCESS
    sim.set_guest_alive(WEB, False)
    r = xen_vm(pcmk, "monitor", "host3", **deep)
    assert r.rc == ocf.ERR_GENERIC and "guest agent stopped reporting" in r.reason
    # depth 0, or check_guest off: the guest is not looked at
    assert xen_vm(pcmk, "monitor", "host3", params={"check_guest": "true"}).rc == ocf.SUCCESS
    assert xen_vm(pcmk, "monitor", "host3", depth=10).rc == ocf.SUCCESS


def test_a_paused_vm_counts_as_here_and_start_unpauses_it(pcmk, sim):
    sim.set_field("VM", WEB, "power_state", "Paused")
    sim.pause_domain(WEB, True)
    r = xen_vm(pcmk, "monitor", "host3")
    assert r.rc == ocf.SUCCESS and "paused" in r.stderr
    assert xen_vm(pcmk, "start", "host3").rc == ocf.SUCCESS
    assert power(sim, WEB) == "Running" and runs_on(sim, WEB) == ["host3"]


def test_a_hanging_clean_shutdown_is_cut_short_by_a_hard_one(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, True, None, 1)
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": 1})
    assert r.rc == ocf.SUCCESS, r
    assert "forcing it off" in r.stderr and runs_on(sim, WEB) == []
