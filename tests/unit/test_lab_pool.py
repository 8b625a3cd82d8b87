"""The XAPI simulator answers like xapi: through the official SDK, with xapi's error codes."""

import json
import os
import socket
import subprocess
import time

import pytest
import XenAPI

from tests.conftest import BIN
from xenha.lab.pool.testing import running_pool
from xenha.xapi import Settings
from xenha.xapi.transport import endpoint

# xapi restarts at once: the tests of the restart windows set them themselves.
QUICK = {"xapi_fuse": 0, "xapi_restart": 0, "master_startup": 0}


@pytest.fixture
def sim():
    with running_pool(hosts=3, vms=4, knobs=QUICK) as s:
        yield s


def session(url, timeout=None):
    """An SDK session to ``url`` (``timeout``: the client gives up after that long)."""
    if timeout is None:
        return XenAPI.Session(url)
    uri, transport = endpoint(Settings(url=url, timeout=timeout), url)
    return XenAPI.Session(uri, transport=transport)


def login(sim, host=None, originator="test", timeout=None):
    s = session((host or sim.master).url, timeout)
    s.xenapi.login_with_password(sim.user, sim.password(), "1.0", originator)
    return s


def local_login(sim, host, timeout=None):
    """A slave-local session on ``host``."""
    s = session(host.url, timeout)
    s.slave_local_login_with_password(sim.user, sim.password())
    return s


def failure(fn, *args):
    with pytest.raises(XenAPI.Failure) as e:
        fn(*args)
    return e.value.details


def vm_on(api, host_ref):
    """A regular VM resident on ``host_ref``."""
    for ref in api.host.get_resident_VMs(host_ref):
        if not api.VM.get_is_control_domain(ref):
            return ref
    raise AssertionError("no VM on host")


def test_login_errors_and_api_version(sim):
    s = login(sim)
    assert s.API_version == "2.21"
    assert failure(login, sim, sim.slaves[0]) == ["HOST_IS_SLAVE", sim.master.address]
    bad = XenAPI.Session(sim.master.url)
    details = failure(bad.xenapi.login_with_password, "root", "wrong")
    assert details[:2] == ["SESSION_AUTHENTICATION_FAILED", "root"]


def test_call_errors(sim):
    api = login(sim).xenapi
    assert failure(api.VM.no_such_call) == ["MESSAGE_METHOD_UNKNOWN", "VM.no_such_call"]
    assert failure(api.VM.get_power_state) == [
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        "VM.get_power_state",
        "2",
        "1",
    ]
    assert failure(api.VM.get_power_state, "OpaqueRef:nope") == [
        "HANDLE_INVALID",
        "VM",
        "OpaqueRef:nope",
    ]
    assert failure(api.VM.get_by_uuid, "nope") == ["UUID_INVALID", "VM", "nope"]
    dom0 = api.host.get_control_domain(api.pool.get_master(api.pool.get_all()[0]))
    assert failure(api.VM.power_state_reset, dom0) == ["CANNOT_RESET_CONTROL_DOMAIN", dom0]


def test_session_invalid_after_logout(sim):
    s = login(sim)
    ref = s._session
    s.xenapi.session.logout()
    raw = XenAPI.Session(sim.master.url)
    assert getattr(raw, "VM.get_all")(ref)["ErrorDescription"] == ["SESSION_INVALID", ref]


def test_lifecycle_follows_truth_and_errors(sim):
    api = login(sim).xenapi
    vm = api.VM.get_by_uuid(sim.vms[0])
    host = api.VM.get_resident_on(vm)
    api.VM.hard_shutdown(vm)
    assert sim.truth()["domains"][api.host.get_uuid(host)] == sorted(
        api.VM.get_uuid(v)
        for v in api.host.get_resident_VMs(host)
        if not api.VM.get_is_control_domain(v)
    )
    assert failure(api.VM.clean_shutdown, vm) == ["VM_BAD_POWER_STATE", vm, "running", "halted"]
    target = api.host.get_by_name_label("host3")[0]
    api.host.disable(target)
    assert failure(api.VM.start_on, vm, target, False, False) == ["HOST_DISABLED", target]
    api.host.enable(target)
    api.VM.start_on(vm, target, False, False)
    assert api.VM.get_record(vm)["power_state"] == "Running"
    assert sim.vms[0] in sim.truth()["domains"][api.host.get_uuid(target)]
    other = api.host.get_by_name_label("host1")[0]
    api.VM.pool_migrate(vm, other, {})
    assert api.VM.get_resident_on(vm) == other
    assert sim.double_runs() == []


def test_free_memory_is_computed_from_the_vms_and_a_vm_that_does_not_fit_is_refused(sim):
    """memory_check.ml: the host's total less its overhead and each resident VM's (dom0's
    too) dynamic_min and overhead; a start or migration beyond it fails with
    HOST_NOT_ENOUGH_FREE_MEMORY [needed, available]."""
    api = login(sim).xenapi
    host = api.host.get_by_name_label("host2")[0]
    total = api.host_metrics.get_memory_total(api.host.get_metrics(host))
    vms = api.host.get_resident_VMs(host)  # its control domain too
    assert any(api.VM.get_is_control_domain(v) for v in vms)
    used = sum(
        int(api.VM.get_memory_dynamic_min(v)) + int(api.VM.get_memory_overhead(v)) for v in vms
    )
    free = int(api.host.compute_free_memory(host))
    assert free == int(total) - int(api.host.get_memory_overhead(host)) - used
    mover = vm_on(api, api.host.get_by_name_label("host1")[0])
    sim.set_field("VM", api.VM.get_uuid(mover), "memory_dynamic_min", str(free))
    needed = free + int(api.VM.get_memory_overhead(mover))
    assert failure(api.VM.pool_migrate, mover, host, {}) == [
        "HOST_NOT_ENOUGH_FREE_MEMORY",
        str(needed),
        str(free),
    ]
    assert int(api.host.compute_free_memory(host)) == free  # nothing moved


def test_power_state_reset_only_when_host_is_not_alive(sim):
    api = login(sim).xenapi
    slave = api.host.get_by_uuid(sim.slaves[0].uuid)
    vm = vm_on(api, slave)
    assert failure(api.VM.power_state_reset, vm) == ["HOST_IS_LIVE", slave]
    assert failure(api.host.declare_dead, slave) == ["HOST_IS_LIVE", slave]
    sim.power_off(sim.slaves[0].name)
    # The database still says Running: nobody told it otherwise.
    assert api.VM.get_power_state(vm) == "Running"
    api.host.declare_dead(slave)
    assert api.VM.get_power_state(vm) == "Halted"
    assert api.host.get_enabled(slave) is False
    api.VM.start(vm, False, False)
    assert sim.double_runs() == []


def test_a_host_declared_dead_is_enabled_again_when_its_xapi_starts(sim):
    api = login(sim).xenapi
    dead, kept = (api.host.get_by_uuid(h.uuid) for h in sim.slaves)
    for h in sim.slaves:
        sim.power_off(h.name)
    api.host.declare_dead(dead)
    api.host.declare_dead(kept)
    api.host.add_to_other_config(kept, "MAINTENANCE_MODE", "true")
    for h in sim.slaves:
        sim.power_on(h.name)
    api.pool.get_all()  # the booted hosts sync with the master
    assert api.host.get_enabled(dead) is True
    assert api.host.get_enabled(kept) is False  # maintenance mode stays


def test_reset_of_an_isolated_host_vm_leads_to_a_recorded_double_run(sim):
    """Isolation is not death: the domain keeps running, and the truth notices."""
    api = login(sim).xenapi
    slave = api.host.get_by_uuid(sim.slaves[0].uuid)
    vm = vm_on(api, slave)
    sim.isolate(sim.slaves[0].name, True)
    api.VM.power_state_reset(vm)  # allowed: xapi cannot reach the host
    api.VM.start(vm, False, False)
    runs = sim.double_runs()
    assert [r["vm"] for r in runs] == [api.VM.get_uuid(vm)]


def test_liveness_follows_heartbeats():
    timing = dict(QUICK, heartbeat_interval=0.1, assumed_dead_interval=0.6)
    with running_pool(hosts=2, vms=2, timing=timing) as sim:
        api = login(sim).xenapi
        slave = api.host.get_by_uuid(sim.slaves[0].uuid)
        metrics = api.host.get_metrics(slave)
        vm = vm_on(api, slave)
        time.sleep(0.8)
        assert api.host_metrics.get_live(metrics) is True
        sim.power_off(sim.slaves[0].name)
        deadline = time.time() + 5
        while api.host_metrics.get_live(metrics) and time.time() < deadline:
            time.sleep(0.1)
        assert api.host_metrics.get_live(metrics) is False
        sim.power_on(sim.slaves[0].name)
        deadline = time.time() + 5
        while not api.host_metrics.get_live(metrics) and time.time() < deadline:
            time.sleep(0.1)
        assert api.host_metrics.get_live(metrics) is True
        # the rebooted host's xapi marked its VM halted: its domain died with the power
        assert api.VM.get_power_state(vm) == "Halted"


def test_session_cap_cancels_the_oldest(sim):
    sim.set_session_cap("originator", 3)
    sessions = [login(sim, originator="leaky") for _ in range(5)]
    assert sim.session_count("leaky") == 3
    raw = XenAPI.Session(sim.master.url)
    results = [getattr(raw, "pool.get_all")(s._session)["Status"] for s in sessions]
    assert results == ["Failure", "Failure", "Success", "Success", "Success"]


def test_emergency_transition_recover_slaves_and_old_master_return(sim):
    old, new, third = sim.master, sim.slaves[0], sim.slaves[1]
    vm = login(sim).xenapi.VM.get_all()[0]
    sim.power_off(old.name)
    local = local_login(sim, new, timeout=0.5)
    with pytest.raises(socket.timeout):  # its xapi waits for the master for ever
        local.xenapi.VM.hard_shutdown(vm)
    local.xenapi.pool.emergency_transition_to_master()  # an emergency call: answered here
    assert failure(login, sim, third) == ["HOST_IS_SLAVE", old.address]
    api = login(sim, new).xenapi
    third_ref = api.host.get_by_uuid(third.uuid)
    assert api.pool.recover_slaves() == [third_ref]
    assert failure(login, sim, third) == ["HOST_IS_SLAVE", new.address]
    # The old master boots believing it is still master, with its own database.
    sim.power_on(old.name)
    stale = login(sim, old).xenapi
    assert stale.pool.get_master(stale.pool.get_all()[0]) == stale.host.get_by_uuid(old.uuid)
    assert sim.host_state(old.name)["role"] == "master"
    # Told where the master is now, it becomes a slave again.
    local_login(sim, old).xenapi.pool.emergency_reset_master(new.address)
    assert failure(login, sim, old) == ["HOST_IS_SLAVE", new.address]


def test_recover_slaves_also_brings_back_an_old_master(sim):
    """As xapi_pool.ml: emergency_reset_master on every host the master reaches."""
    old, new, third = sim.master, sim.slaves[0], sim.slaves[1]
    sim.power_off(old.name)
    local_login(sim, new).xenapi.pool.emergency_transition_to_master()
    sim.power_on(old.name)  # back, still believing it is master
    api = login(sim, new).xenapi
    refs = {api.host.get_by_uuid(h.uuid) for h in (old, third)}
    assert set(api.pool.recover_slaves()) == refs
    assert failure(login, sim, old) == ["HOST_IS_SLAVE", new.address]
    assert failure(login, sim, third) == ["HOST_IS_SLAVE", new.address]
    on_third = local_login(sim, third).xenapi
    assert set(api.pool.recover_slaves()) == refs
    on_third.pool.get_all()  # nothing changed for a following slave: its xapi kept running


def test_designate_new_master(sim):
    api = login(sim).xenapi
    target = api.host.get_by_uuid(sim.slaves[0].uuid)
    api.pool.designate_new_master(target)
    assert failure(login, sim, sim.master) == ["HOST_IS_SLAVE", sim.slaves[0].address]
    new = login(sim, sim.slaves[0]).xenapi
    assert new.pool.get_master(new.pool.get_all()[0]) == target


def test_other_config_appliances_and_pbds():
    state = {
        "hosts": [{"name": "a"}, {"name": "b"}],
        "appliances": [{"name": "app"}],
        "vms": [
            {"name": "db", "appliance": "app", "order": 0},
            {"name": "web", "appliance": "app", "order": 1, "other_config": {"k": "v"}},
        ],
        "srs": [{"name": "sr", "attached": False}],
    }
    with running_pool(state=state) as sim:
        api = login(sim).xenapi
        web = api.VM.get_by_name_label("web")[0]
        assert api.VM.get_other_config(web) == {"k": "v"}
        api.VM.add_to_other_config(web, "xenha", "1")
        assert failure(api.VM.add_to_other_config, web, "xenha", "2")[0] == "MAP_DUPLICATE_KEY"
        api.VM.remove_from_other_config(web, "k")
        assert api.VM.get_other_config(web) == {"xenha": "1"}
        app = api.VM_appliance.get_by_name_label("app")[0]
        assert len(api.VM_appliance.get_VMs(app)) == 2
        api.VM_appliance.start(app, False)
        assert {api.VM.get_power_state(v) for v in api.VM_appliance.get_VMs(app)} == {"Running"}
        pbd = api.PBD.get_all()[0]
        assert api.PBD.get_currently_attached(pbd) is False
        api.PBD.plug(pbd)
        assert api.PBD.get_currently_attached(pbd) is True


def test_xenha_lab_sim_serves_and_prints_endpoints():
    proc = subprocess.Popen(
        [os.path.join(BIN, "xenha"), "lab", "sim", "--hosts", "2", "--vms", "3", "--json"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert [h["name"] for h in info["hosts"]] == ["host1", "host2"]
        assert len(info["vms"]) == 3
        s = XenAPI.Session(info["hosts"][0]["http"])
        with open(info["password_file"]) as f:
            s.xenapi.login_with_password("root", f.read().strip())
        assert len(s.xenapi.host.get_all()) == 2
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        proc.stdout.close()
    assert not os.path.exists(info["state_dir"])


def test_injected_latency_and_errors_are_per_call(sim):
    api = login(sim).xenapi
    sim.inject("VM.get_all", "", 0.6, False, None, 1)
    sim.inject("host.get_all", sim.master.name, 0, False, ["INTERNAL_ERROR", "injected"], 1)
    started = time.monotonic()
    api.VM.get_all()
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    api.VM.get_all()  # count=1: only the first call was delayed
    assert time.monotonic() - started < 0.5
    assert failure(api.host.get_all) == ["INTERNAL_ERROR", "injected"]
    assert len(api.host.get_all()) == 3


def test_partition_cuts_slaves_from_the_master(sim):
    api = login(sim).xenapi
    cut = sim.slaves[0]
    session = login(sim)._session
    sim.partition([[sim.master.name, sim.slaves[1].name], [cut.name]])
    # the master cannot reach the host: xapi considers it dead at once
    vm = vm_on(api, api.host.get_by_uuid(cut.uuid))
    api.VM.power_state_reset(vm)
    # a pool session used on the cut-off slave gets no answer (its xapi waits for the master)
    uri, transport = endpoint(Settings(url=cut.url, timeout=0.5), cut.url)
    raw = XenAPI.Session(uri, transport=transport)
    with pytest.raises(socket.timeout):
        getattr(raw, "VM.get_all")(session)
    # the other side of the partition still works; on the cut-off slave, a slave-local
    # session logs in, but its reads need the master too: no answer either
    assert len(api.host.get_all()) == 3
    local = local_login(sim, cut, timeout=0.5)
    with pytest.raises(socket.timeout):
        local.xenapi.host.get_all()
    sim.partition([])


def test_a_dead_domain_reaches_the_database_only_through_its_hosts_xapi(sim):
    api = login(sim).xenapi
    slave_ref = api.host.get_by_uuid(sim.slaves[0].uuid)
    vm = vm_on(api, slave_ref)
    gm = api.VM.get_guest_metrics(vm)
    assert api.VM_guest_metrics.get_live(gm) is True
    sim.set_guest_alive(api.VM.get_uuid(vm), False)
    assert api.VM_guest_metrics.get_live(gm) is False
    sim.kill_domain(api.VM.get_uuid(vm))  # the host's xapi sees it and tells the master
    assert api.VM.get_power_state(vm) == "Halted"
    other = vm_on(api, api.host.get_by_uuid(sim.slaves[1].uuid))
    sim.isolate(sim.slaves[1].name, True)
    sim.kill_domain(api.VM.get_uuid(other))  # nobody hears about it ...
    assert api.VM.get_power_state(other) == "Running"
    sim.isolate(sim.slaves[1].name, False)
    api.pool.get_all()  # ... until the host is back in touch with its master
    assert api.VM.get_power_state(other) == "Halted"


def test_pause_suspend_resume_and_vm_metrics(sim):
    api = login(sim).xenapi
    vm = api.VM.get_by_uuid(sim.vms[1])
    started = api.VM_metrics.get_start_time(api.VM.get_metrics(vm))
    assert started.value > "2000"
    api.VM.pause(vm)
    assert api.VM.get_power_state(vm) == "Paused"
    assert failure(api.VM.pause, vm) == ["VM_BAD_POWER_STATE", vm, "running", "paused"]
    api.VM.unpause(vm)
    api.VM.suspend(vm)
    assert api.VM.get_power_state(vm) == "Suspended"
    assert api.VM.get_uuid(vm) not in sum(sim.truth()["domains"].values(), [])
    target = api.host.get_by_uuid(sim.slaves[1].uuid)
    api.VM.resume_on(vm, target, False, False)
    assert api.VM.get_resident_on(vm) == target
    assert api.VM.get_uuid(vm) in sim.truth()["domains"][sim.slaves[1].uuid]


def wait_task(api, task, seconds=5.0):
    end = time.time() + seconds
    while api.task.get_status(task) == "pending" and time.time() < end:
        time.sleep(0.05)
    return api.task.get_status(task)


def test_async_calls_run_as_tasks_that_can_be_cancelled(sim):
    api = login(sim).xenapi
    vm = vm_on(api, api.host.get_by_name_label("host2")[0])
    dest = api.host.get_by_name_label("host3")[0]
    task = api.Async.VM.pool_migrate(vm, dest, {"live": "true"})
    assert api.task.get_name_label(task) == "Async.VM.pool_migrate"
    assert wait_task(api, task) == "success" and api.VM.get_resident_on(vm) == dest
    api.task.cancel(task)  # refused by nothing, and nothing to act on (xapi_task.ml)
    assert api.task.get_status(task) == "success"
    api.task.destroy(task)
    assert failure(api.task.get_status, task)[0] == "HANDLE_INVALID"
    # a long migration, cancelled before it is done: the VM stays where it was
    sim.inject("VM.pool_migrate", "", 30, False, None, 1)
    task = api.Async.VM.pool_migrate(vm, api.host.get_by_name_label("host1")[0], {})
    assert api.task.get_status(task) == "pending"
    end = time.time() + 5  # until xenopsd has it: a cancel before would be lost
    while api.task.get_allowed_operations(task) != ["cancel"] and time.time() < end:
        time.sleep(0.05)
    api.task.cancel(task)
    assert wait_task(api, task) == "cancelled"
    assert api.task.get_error_info(task) == ["TASK_CANCELLED", task]
    assert api.VM.get_resident_on(vm) == dest
    # a failing call fails its task with the call's error
    task = api.Async.VM.pool_migrate(vm, dest, {})
    assert wait_task(api, task) == "failure"
    assert api.task.get_error_info(task)[0] == "OPERATION_NOT_ALLOWED"
    assert sim.double_runs() == []


def test_a_migration_from_a_stale_record_fails_and_creates_no_domain(sim):
    """A VM recorded Running on a host whose hypervisor has no domain of it: xenopsd
    there has nothing to migrate (xapi_xenops.ml words Does_not_exist so); nothing
    appears on the destination."""
    api = login(sim).xenapi
    vm = vm_on(api, api.host.get_by_name_label("host2")[0])
    uuid, host = api.VM.get_uuid(vm), api.VM.get_resident_on(vm)
    sim.kill_domain(uuid)
    for field, value in (("power_state", "Running"), ("resident_on", host)):
        sim.set_field("VM", uuid, field, value)  # the record, not yet resynced
    dest = api.host.get_by_name_label("host3")[0]
    assert failure(api.VM.pool_migrate, vm, dest, {}) == [
        "INTERNAL_ERROR",
        "Object with type VM and id %s does not exist in xenopsd" % uuid,
    ]
    assert uuid not in sim.truth()["domains"][api.host.get_uuid(dest)]


def test_a_recovered_slave_claims_the_domains_a_stale_database_misplaces(sim):
    """A master promoted with an old replica believes a VM halted; the slave that runs it
    records it back when its xapi restarts to follow the new master."""
    runner, new = sim.slaves
    api = login(sim).xenapi
    vm = vm_on(api, api.host.get_by_uuid(runner.uuid))
    vm_uuid = api.VM.get_uuid(vm)
    sim.set_field("VM", vm_uuid, "power_state", "Halted", new.name)  # the replica lags
    sim.power_off(sim.master.name)
    local_login(sim, new).xenapi.pool.emergency_transition_to_master()
    api = login(sim, new).xenapi
    assert api.VM.get_power_state(vm) == "Halted"  # the stale database
    api.pool.recover_slaves()
    api.pool.get_all()  # the recovered slave syncs with its new master
    assert api.VM.get_power_state(vm) == "Running"
    assert api.VM.get_resident_on(vm) == api.host.get_by_uuid(runner.uuid)
