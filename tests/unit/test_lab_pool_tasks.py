"""The Async.* task life cycle in the XAPI simulator, as xapi has it (ocaml/xapi/
server_helpers.ml, taskHelper.ml, xapi_task.ml), through xenha's transport, over
XML-RPC and JSON-RPC, at the master and through a slave; and event.inject."""

import json
import time
import xmlrpc.client

import pytest

from tests.unit.test_lab_pool import QUICK, failure, login, sim, vm_on  # noqa: F401 (fixture)
from tests.unit.test_lab_pool_events import event_from
from tests.unit.test_lab_pool_wire import json_call, json_login, xml_call
from xenha.lab.pool.schema import EPOCH
from xenha.lab.pool.testing import running_pool
from xenha.xapi import Client, Settings

DONE = ("success", "failure", "cancelled")


def until(check, seconds=20.0):
    """Poll ``check()`` until it is true (returned) or ``seconds`` pass (an error)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("still not so after %ss: %s" % (seconds, check))


def finished(api, task):
    until(lambda: api.task.get_status(task) in DONE)
    return api.task.get_record(task)


def running_vm(api, host_name="host2"):
    return vm_on(api, api.host.get_by_name_label(host_name)[0])


def test_a_long_call_is_a_pending_cancellable_task_whose_progress_moves(sim):  # noqa: F811
    api = login(sim).xenapi
    vm = running_vm(api)
    sim.inject("VM.clean_shutdown", "", 5, False, None, 1)
    task = api.Async.VM.clean_shutdown(vm)
    record = api.task.get_record(task)
    assert (record["status"], record["name_label"]) == ("pending", "Async.VM.clean_shutdown")
    assert record["result"] == "" and record["error_info"] == []
    assert str(record["finished"]) == str(EPOCH) and record["type"] == "<none/>"
    # xenopsd runs it: cancellable while it runs; progress short of 1 until done
    until(lambda: api.task.get_allowed_operations(task) == ["cancel"])
    assert 0 < float(until(lambda: float(api.task.get_progress(task)))) < 1
    record = finished(api, task)
    assert (record["status"], record["progress"]) == ("success", 1.0)
    assert record["result"] == "<value></value>"  # a void call's, as Xmlrpc.to_string
    assert record["allowed_operations"] == [] and str(record["finished"]) != str(EPOCH)
    assert api.VM.get_power_state(vm) == "Halted"
    api.task.destroy(task)
    assert failure(api.task.get_status, task) == ["HANDLE_INVALID", "task", task]
    api.Async.VM.start(vm, False, False)
    until(lambda: api.VM.get_power_state(vm) == "Running")


def test_a_cancelled_xenopsd_call_ends_cancelled_and_changes_nothing(sim):  # noqa: F811
    api = login(sim).xenapi
    vm = running_vm(api)
    home, dest = api.VM.get_resident_on(vm), api.host.get_by_name_label("host3")[0]
    sim.inject("VM.pool_migrate", "", 30, False, None, 1)
    task = api.Async.VM.pool_migrate(vm, dest, {"live": "true"})
    until(lambda: api.task.get_allowed_operations(task) == ["cancel"])
    api.task.cancel(task)
    assert list(api.task.get_current_operations(task).values()) == ["cancel"]
    record = finished(api, task)
    assert record["status"] == "cancelled" and record["progress"] == 1.0
    assert record["error_info"] == ["TASK_CANCELLED", task]
    assert api.VM.get_resident_on(vm) == home
    assert sim.double_runs() == []


def test_a_cancel_that_nothing_acts_on_is_not_refused_and_the_call_goes_on(sim):  # noqa: F811
    """xapi_task.ml cancel refuses nothing: a call xenopsd does not run goes on, and a
    task that is done stays as it ended."""
    api = login(sim).xenapi
    host = api.host.get_by_name_label("host3")[0]
    sim.inject("host.disable", "", 1, False, None, 1)
    task = api.Async.host.disable(host)
    assert api.task.get_allowed_operations(task) == []
    assert api.task.cancel(task) == ""
    record = finished(api, task)
    assert record["status"] == "success" and api.host.get_enabled(host) is False
    assert api.task.cancel(task) == ""
    assert api.task.get_status(task) == "success"
    api.host.enable(host)


def test_a_failed_call_fails_its_task_with_the_error(sim):  # noqa: F811
    api = login(sim).xenapi
    vm = running_vm(api)
    task = api.Async.VM.start(vm, False, False)
    record = finished(api, task)
    assert record["status"] == "failure" and record["result"] == ""
    assert record["error_info"][0] == "VM_BAD_POWER_STATE"
    sim.inject("VM.clean_shutdown", "", 0, False, ["SR_BACKEND_FAILURE_46", "", "busy"], 1)
    task = api.Async.VM.clean_shutdown(vm)
    assert finished(api, task)["error_info"] == ["SR_BACKEND_FAILURE_46", "", "busy"]
    assert api.VM.get_power_state(vm) == "Running"


def test_the_gc_removes_tasks_destroyed_while_running_and_old_ones():
    """db_gc_util.ml timeout_tasks, on the master's GC passes (here every second)."""
    knobs = dict(QUICK, db_gc_interval=1.0, completed_task_timeout=8.0)
    with running_pool(hosts=2, vms=1, knobs=knobs) as gc_sim:
        api = login(gc_sim).xenapi
        vm = next(r for r, v in api.VM.get_all_records().items() if not v["is_control_domain"])
        gc_sim.inject("VM.clean_reboot", "", 1, False, None, 1)
        destroyed = api.Async.VM.clean_reboot(vm)
        api.task.destroy(destroyed)  # still running: marked, still there
        assert api.task.get_current_operations(destroyed) == {"task": "destroy"}
        kept = api.Async.host.disable(api.host.get_by_name_label("host2")[0])
        assert finished(api, kept)["status"] == "success"
        until(lambda: destroyed not in api.task.get_all())
        assert kept in api.task.get_all()  # done, not destroyed: kept 8 s here
        until(lambda: kept not in api.task.get_all())


def test_a_restarting_xapi_loses_its_tasks_and_the_calls_they_ran(sim):  # noqa: F811
    """Tasks are in xapi's memory only (datamodel.ml: PersistNothing): a toolstack
    restart of the master ends them all, done or not, and an unfinished call with them."""
    api = login(sim).xenapi
    vm = running_vm(api)
    done = api.Async.host.disable(api.host.get_by_name_label("host3")[0])
    until(lambda: api.task.get_status(done) == "success")
    sim.inject("VM.clean_shutdown", "", 30, False, None, 1)
    running = api.Async.VM.clean_shutdown(vm)
    sim.toolstack_restart(sim.master.name, 0)
    until(lambda: sim.xapi_state(sim.master.name)["xapi"] == "running")
    api = login(sim).xenapi
    assert failure(api.task.get_status, done) == ["HANDLE_INVALID", "task", done]
    assert failure(api.task.get_status, running) == ["HANDLE_INVALID", "task", running]
    assert api.task.get_all() == [] and api.VM.get_power_state(vm) == "Running"


def test_calls_without_an_async_form_are_a_fault(sim):  # noqa: F811
    api = login(sim).xenapi
    vm = running_vm(api)
    no_async = "No async mode for this operation (rpc: %s)"
    assert failure(api.Async.VM.get_power_state, vm) == [
        "Fault",
        no_async % "VM.get_power_state",
    ]
    assert failure(api.Async.task.create, "x", "") == ["Fault", no_async % "task.create"]


def test_a_tasks_life_shows_in_event_from(sim):  # noqa: F811
    api = login(sim).xenapi
    vm = running_vm(api)
    token = event_from(api, ["task"], "", 0.1)["token"]
    sim.inject("VM.clean_shutdown", "", 1, False, None, 1)
    task = api.Async.VM.clean_shutdown(vm)
    seen = []
    while not seen or seen[-1][1]["status"] == "pending":
        answer = event_from(api, ["task"], token, 10.0)
        token = answer["token"]
        seen += [(e["operation"], e["snapshot"]) for e in answer["events"] if e["ref"] == task]
    assert seen[0][0] == "add" and seen[-1][0] in ("add", "mod")
    assert seen[-1][1]["status"] == "success" and seen[-1][1]["result"] == "<value></value>"
    api.task.destroy(task)
    answer = event_from(api, ["task/%s" % task], token, 10.0)
    assert [(e["operation"], e["ref"]) for e in answer["events"]] == [("del", task)]
    api.VM.start(vm, False, False)


@pytest.fixture(scope="module")
def endpoints():
    """A pool served on every endpoint: HTTP, HTTPS (each host's own certificate) and
    each host's unix socket."""
    with running_pool(hosts=2, vms=1, https=True, sockets=True, knobs=QUICK) as s:
        yield s


def wire_call(pool, wire, transport, host, method, *params):
    """One call on ``host``'s endpoint in XML-RPC or JSON-RPC 2.0; its result."""
    kw = dict(host=host, transport=transport)
    if wire == "json":
        answer = json.loads(json_call(pool, method, *params, **kw))
        assert answer.get("error") is None, answer
        return answer["result"]
    answer = xmlrpc.client.loads(xml_call(pool, method, *params, **kw))[0][0]
    assert answer["Status"] == "Success", answer
    return answer["Value"]


@pytest.mark.parametrize("wire", ["xml", "json"])
@pytest.mark.parametrize("transport", ["http", "https", "socket"])
@pytest.mark.parametrize("at", ["master", "slave"])
def test_every_endpoint_and_protocol_runs_tasks(endpoints, wire, transport, at):
    host = endpoints.master if at == "master" else endpoints.slaves[0]
    session = json_login(endpoints)

    def call(method, *params):
        return wire_call(endpoints, wire, transport, host, method, session, *params)

    vm = call("VM.get_by_uuid", endpoints.vms[0])
    endpoints.inject("VM.clean_shutdown", "", 1, False, None, 1)
    task = call("Async.VM.clean_shutdown", vm)
    assert call("task.get_status", task) == "pending"
    until(lambda: call("task.get_status", task) in DONE)
    record = call("task.get_record", task)
    assert record["status"] == "success" and record["result"] == "<value></value>"
    assert float(record["progress"]) == 1.0 and record["error_info"] == []
    task = call("Async.VM.start", vm, False, False)
    until(lambda: call("task.get_status", task) == "success")
    assert call("VM.get_power_state", vm) == "Running"


def test_xenhas_client_waits_on_a_task(sim):  # noqa: F811
    settings = Settings(url=sim.slaves[1].url, password_file=sim.password_file, timeout=5)
    with Client(settings, cache_dir=None) as c:
        vm = running_vm(c.xenapi)
        task = c.xenapi.Async.VM.clean_shutdown(vm)
        assert finished(c.xenapi, task)["status"] == "success"
        task = c.xenapi.Async.VM.start(vm, False, False)
        assert finished(c.xenapi, task)["status"] == "success"


def test_event_inject_gives_a_token_an_event_from_sees_the_object_after(sim):  # noqa: F811
    api = login(sim).xenapi
    pool = api.pool.get_all()[0]
    event_from(api, ["pool"], "", 0.1)
    token = api.event.inject("pool", pool)
    generation, messages = token.split(",")
    assert len(generation) == len(messages) == 20
    answer = event_from(api, ["pool"], token, 5.0)
    assert [(e["operation"], e["ref"]) for e in answer["events"]] == [("mod", pool)]
    assert answer["token"] > token
    # the class as xapi's database spells it, and the ref in it
    assert failure(api.event.inject, "VM", pool) == ["HANDLE_INVALID", "VM", pool]
    assert failure(api.event.inject, "Pool", pool) == ["HANDLE_INVALID", "Pool", pool]
    nope = "OpaqueRef:nope"
    assert failure(api.event.inject, "pool", nope) == ["HANDLE_INVALID", "pool", nope]
