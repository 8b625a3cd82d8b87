"""ocf:xenha:xen-vm, every action and failure path, as Pacemaker drives it, on the simulator.

Pool: host1 (master), host2, host3; "web" runs on host3, "db" is halted, "tmpl" is
a template. Every test ends with the hypervisor truth's invariant: no VM ever ran
on two hosts at once.
"""

import os
import threading
import time

import pytest

from xenha import ocf

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

POOL = {"state": STATE, "knobs": {"local_reads": "backup", "xapi_restart": 0}}


def xen_vm(pcmk, action, node, vm=WEB, **kw):
    params = dict({"vm": vm}, **kw.pop("params", {}))
    return pcmk.run("xen-vm", action, node, instance="vm-" + vm[:4], params=params, **kw)


def runs_on(sim, vm):
    """The hosts (names) whose hypervisor really runs ``vm``."""
    names = {h.uuid: h.name for h in sim.hosts}
    return sorted(names[h] for h, vms in sim.truth()["domains"].items() if vm in vms)


def power(sim, vm):
    return sim.record("VM", vm)["power_state"]


# -- monitor -----------------------------------------------------------------------------


def test_monitor_running_here_elsewhere_and_halted(pcmk):
    assert xen_vm(pcmk, "monitor", "host3").rc == ocf.SUCCESS
    probe = xen_vm(pcmk, "monitor", "host2", meta={"interval": 0})
    assert (probe.rc, probe.reasons) == (ocf.NOT_RUNNING, [])
    assert "ERROR" not in probe.stderr  # a probe that finds nothing logs no error
    recurring = xen_vm(pcmk, "monitor", "host2", meta={"interval": 10000})
    assert recurring.rc == ocf.NOT_RUNNING and "runs on another host" in recurring.reason
    halted = xen_vm(pcmk, "monitor", "host1", vm=DB, meta={"interval": 0})
    assert (halted.rc, halted.reasons) == (ocf.NOT_RUNNING, [])


def test_monitor_when_xapi_does_not_answer_is_an_error_never_not_running(pcmk, sim):
    sim.inject("*", "host3", 0, True)  # host3's xapi hangs
    r = xen_vm(pcmk, "monitor", "host3", meta={"timeout": 3000, "interval": 10000})
    assert r.rc == ocf.ERR_GENERIC, r
    assert "cannot reach XAPI" in r.reason
    r = xen_vm(pcmk, "monitor", "host3", meta={"timeout": 3000, "interval": 0})
    assert r.rc == ocf.ERR_GENERIC  # not even a probe says "not running" when it cannot tell


def test_monitor_while_the_master_is_down_asks_this_hosts_own_xapi(pcmk, sim):
    sim.power_off("host1")  # the pool master
    meta = {"timeout": 8000, "interval": 10000}
    here = xen_vm(pcmk, "monitor", "host3", meta=meta)
    assert here.rc == ocf.SUCCESS and "pool master unreachable" in here.stderr
    elsewhere = xen_vm(pcmk, "monitor", "host2", meta=meta)
    assert elsewhere.rc == ocf.ERR_GENERIC  # it cannot tell, so never "not running"
    assert "cannot reach the pool master" in elsewhere.reason


def test_monitor_with_nothing_listening_is_an_error(pcmk):
    r = xen_vm(pcmk, "monitor", "host3", params={"xapi_url": "http://127.0.0.1:9/"})
    assert r.rc == ocf.ERR_GENERIC and "cannot reach XAPI" in r.reason


def test_monitor_keeps_one_session_per_node(pcmk, sim):
    for _ in range(5):
        assert xen_vm(pcmk, "monitor", "host3").rc == ocf.SUCCESS
    assert sim.session_count("xenha-xen-vm") == 1


def test_a_warning_of_the_xapi_library_lands_in_the_agents_log_with_its_tag(pcmk, tmp_path):
    """xenha.xapi warns (a session cache directory others can enter) through the log the
    action installed: HA_LOGFILE and stderr carry it under xen-vm(<instance>)."""
    cache = os.path.join(pcmk.rsctmp, "host3", "xenha-xapi")
    os.makedirs(cache, mode=0o755)
    os.chmod(cache, 0o755)
    logfile = tmp_path / "ha-log"
    r = xen_vm(pcmk, "monitor", "host3", extra={"HA_LOGFILE": str(logfile)})
    assert r.rc == ocf.SUCCESS, r
    lines = [line for line in logfile.read_text().splitlines() if "not caching" in line]
    assert len(lines) == 1 and lines[0].startswith("xen-vm(vm-6a1c)["), lines
    assert "WARNING: not caching XAPI sessions: %s is not private to us" % cache in lines[0]
    r = xen_vm(pcmk, "monitor", "host3")  # neither HA_LOGFILE nor HA_LOGFACILITY: stderr
    assert r.rc == ocf.SUCCESS, r
    assert "xen-vm(vm-6a1c) WARNING: not caching XAPI sessions" in r.stderr


def test_a_traced_monitor_shows_the_agents_lines_and_its_xapi_calls(pcmk, sim, tmp_path):
    trace = tmp_path / "monitor.trace"
    r = xen_vm(pcmk, "monitor", "host3", extra={"OCF_TRACE_RA": "1", "OCF_TRACE_FILE": str(trace)})
    assert r.rc == ocf.SUCCESS, r
    text = trace.read_text()
    assert "ocf_agents.xen_vm:monitor:" in text and "xenha.pool_agent:" in text
    assert "DEBUG: XAPI VM.get_record at %s" % sim.hosts[0].url in text
    with open(sim.password_file) as f:
        assert f.read().strip() not in text


# -- start -------------------------------------------------------------------------------


def test_start_a_halted_vm_here_and_again(pcmk, sim):
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS
    assert runs_on(sim, DB) == ["host2"]
    assert xen_vm(pcmk, "start", "host2", vm=DB).rc == ocf.SUCCESS  # idempotent
    assert runs_on(sim, DB) == ["host2"]
    assert xen_vm(pcmk, "monitor", "host2", vm=DB).rc == ocf.SUCCESS


def test_start_refuses_a_vm_running_on_a_live_host(pcmk, sim):
    r = xen_vm(pcmk, "start", "host2")
    assert r.rc == ocf.ERR_GENERIC
    assert "recorded running on host host3" in r.reason
    assert "a live cluster member; refusing" in r.reason
    assert runs_on(sim, WEB) == ["host3"]


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


def test_start_waits_for_a_host_back_from_its_fence_to_reset_the_vm(pcmk, sim):
    sim.power_off("host3")
    pcmk.fence("host3")
    sim.isolate("host3", True)  # booted, but its xapi has not reached the master yet
    sim.power_on("host3")
    assert power(sim, WEB) == "Running"  # the pool's record is stale
    rejoin = threading.Timer(2.0, sim.isolate, ("host3", False))
    rejoin.start()
    r = xen_vm(pcmk, "start", "host2")
    rejoin.join()
    assert r.rc == ocf.SUCCESS, r
    assert "fenced since and back: waiting for its xapi" in r.stderr
    assert runs_on(sim, WEB) == ["host2"]


def test_start_resumes_a_suspended_vm_on_this_host(pcmk, sim):
    sim.set_field("VM", DB, "power_state", "Suspended")
    assert xen_vm(pcmk, "start", "host1", vm=DB).rc == ocf.SUCCESS
    assert runs_on(sim, DB) == ["host1"]


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


def test_stop_elsewhere_leaves_the_vm_alone(pcmk, sim):
    assert xen_vm(pcmk, "stop", "host1").rc == ocf.SUCCESS
    assert runs_on(sim, WEB) == ["host3"]


def test_stop_falls_back_to_hard_shutdown(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, False, ["VM_BAD_POWER_STATE"])
    r = xen_vm(pcmk, "stop", "host3")
    assert r.rc == ocf.SUCCESS, r
    assert "forcing it off" in r.stderr and runs_on(sim, WEB) == []


def test_stop_fails_when_the_vm_cannot_be_stopped(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, False, ["VM_BAD_POWER_STATE"])
    sim.inject("VM.hard_shutdown", "", 0, False, ["INTERNAL_ERROR", "stuck"])
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": 1})
    assert r.rc == ocf.ERR_GENERIC and "INTERNAL_ERROR" in r.reason
    assert runs_on(sim, WEB) == ["host3"]


def test_stop_when_xapi_does_not_answer_fails(pcmk, sim):
    sim.inject("*", "host3", 0, True)
    r = xen_vm(pcmk, "stop", "host3", meta={"timeout": 4000})
    assert r.rc == ocf.ERR_GENERIC and "cannot reach XAPI" in r.reason


def test_stop_keeps_within_its_timeout_whatever_shutdown_timeout_says(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, True)  # the guest never shuts down
    sim.inject("VM.hard_shutdown", "", 0, True)  # and xapi never reports it forced off
    began = time.time()
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": 30}, meta={"timeout": 8000})
    assert time.time() - began < 8  # clean 0.6 x 8 s, hard the rest up to 0.9 x 8 s
    assert r.rc == ocf.ERR_GENERIC and "hard_shutdown" in r.reason, r
    assert "does not fit in the stop timeout" in r.stderr


def test_stop_while_the_master_is_down_asks_this_hosts_own_xapi(pcmk, sim):
    sim.power_off("host1")  # the pool master
    meta = {"timeout": 8000}
    elsewhere = xen_vm(pcmk, "stop", "host2", meta=meta)
    assert elsewhere.rc == ocf.SUCCESS, elsewhere  # definitely not here
    here = xen_vm(pcmk, "stop", "host3", meta=meta)
    assert here.rc == ocf.ERR_GENERIC and "runs on this host" in here.reason, here
    assert runs_on(sim, WEB) == ["host3"]  # Pacemaker fences host3 next


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
    r = xen_vm(pcmk, "migrate_to", "host2", meta={"migrate_target": "host1"})
    assert r.rc == ocf.ERR_GENERIC and "not running on this host" in r.reason


# -- names, parameters, validate-all --------------------------------------------------------


def test_a_name_label_works_when_unique(pcmk):
    assert xen_vm(pcmk, "monitor", "host3", vm="web").rc == ocf.SUCCESS


def test_an_ambiguous_name_is_a_configuration_error(pcmk, sim):
    sim.set_field("VM", DB, "name_label", "web")
    r = xen_vm(pcmk, "start", "host2", vm="web")
    assert r.rc == ocf.ERR_CONFIGURED
    assert "ambiguous" in r.reason and WEB in r.reason and DB in r.reason
    assert xen_vm(pcmk, "monitor", "host2", vm="web").rc == ocf.ERR_CONFIGURED
    # stop: one of the VMs of that name runs on host3, so it cannot say it stopped it
    assert xen_vm(pcmk, "stop", "host3", vm="web").rc == ocf.ERR_CONFIGURED
    # ... but nothing of that name runs on host1: stopped there
    assert xen_vm(pcmk, "stop", "host1", vm="web").rc == ocf.SUCCESS


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
    m = {"host_map": "node-a:%s;node-b:host2" % sim.host("host3").uuid}
    r = xen_vm(pcmk, "monitor", "node-a", params=dict(m, xapi_url=sim.host("host3").url))
    assert r.rc == ocf.SUCCESS


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


def test_missing_password_file_is_local(pcmk):
    r = xen_vm(pcmk, "monitor", "host3", params={"xapi_password_file": "/nonexistent"})
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
    r = xen_vm(pcmk, "monitor", "host3")
    assert r.rc == ocf.SUCCESS and "paused" in r.stderr
    assert xen_vm(pcmk, "start", "host3").rc == ocf.SUCCESS
    assert power(sim, WEB) == "Running" and runs_on(sim, WEB) == ["host3"]


def test_a_hanging_clean_shutdown_is_cut_short_by_a_hard_one(pcmk, sim):
    sim.inject("VM.clean_shutdown", "", 0, True, None, 1)
    r = xen_vm(pcmk, "stop", "host3", params={"shutdown_timeout": 1})
    assert r.rc == ocf.SUCCESS, r
    assert "forcing it off" in r.stderr and runs_on(sim, WEB) == []
