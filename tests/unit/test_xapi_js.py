"""A client of another project, in another language, against the simulator: Xen
Orchestra's XAPI client (npm ``xen-api``, pinned in tests/xapi_js/package-lock.json,
installed by ``make js``), over JSON-RPC (its default, ``auto``, tries it first) and
over XML-RPC, watching events as it does by default (event.inject, event.from), which
its callAsync needs."""

import collections
import json
import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO
from xenha.lab.pool.testing import running_pool

SCRIPT = os.path.join(REPO, "tests", "xapi_js", "check.mjs")


@pytest.fixture(scope="module")
def sim():
    with running_pool(hosts=2, vms=1) as s:
        yield s


def run_client(sim, url, transport):
    """Run check.mjs against ``url``; return its report."""
    node = shutil.which("node")
    assert node, "node is not installed: `make deps` installs it"
    opts = {"url": url, "user": sim.user, "password": sim.password(), "transport": transport}
    opts["vm"] = sim.vms[0]
    r = subprocess.run(
        [node, SCRIPT],
        input=json.dumps(opts),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    assert r.returncode == 0, "check.mjs failed (`make js` installs xen-api):\n" + r.stderr
    return json.loads(r.stdout)


def calls(sim, host):
    return collections.Counter(sim.xapi_calls(host.name))


@pytest.mark.parametrize("transport, int64", [("auto", int), ("xml-rpc", str)])
def test_xen_orchestras_client_follows_to_the_master_and_runs_a_vm(sim, transport, int64):
    slave, master = sim.slaves[0], sim.master
    before = {h.name: calls(sim, h) for h in (slave, master)}
    sim.inject("VM.pool_migrate", "", 60, False, None, 1)  # long: the client cancels it
    report = run_client(sim, slave.url, transport)
    # it logged in at the slave, met HOST_IS_SLAVE and did everything else at the master
    assert calls(sim, slave) - before[slave.name] == {"session.login_with_password": 1}
    at_master = calls(sim, master) - before[master.name]
    assert at_master["session.login_with_password"] == 1
    assert at_master["system.listMethods"] == 1
    hosts = {h["uuid"]: h for h in report["hosts"]}
    assert set(hosts) == {h.uuid for h in sim.hosts}
    assert report["master"] == hosts[master.uuid]["ref"]
    assert hosts[slave.uuid]["address"] == slave.address
    # JSON-RPC carries int64 as numbers, XML-RPC as digits: auto took JSON-RPC
    assert isinstance(report["vm"]["memory"], int64)
    assert isinstance(report["started"]["domid"], int64)
    assert (report["vm"]["before"], report["halted"]) == ("Running", "Halted")
    assert report["started"]["power_state"] == "Running"
    started_on = next(u for u, h in hosts.items() if h["ref"] == report["started"]["host"])
    assert sim.vms[0] in sim.truth()["domains"][started_on]
    assert report["bad_ref"] == {"code": "HANDLE_INVALID", "params": ["VM", "OpaqueRef:nope"]}
    assert sim.double_runs() == []


@pytest.mark.parametrize("transport", ["auto", "xml-rpc"])
def test_xen_orchestras_async_calls_watch_their_tasks_through_events(sim, transport):
    """Its callAsync runs Async.<call>, learns the task's end from event.from (after the
    token of an event.inject), parses the XML-RPC result xapi stores, and destroys the
    task; its cancel ends the task cancelled, which it reports as a Cancel."""
    sim.inject("VM.pool_migrate", "", 60, False, None, 1)
    before = calls(sim, sim.master)
    report = run_client(sim, sim.slaves[0].url, transport)
    at_master = calls(sim, sim.master) - before
    assert at_master["event.inject"] >= 1 and at_master["event.from"] >= 1
    done = report["async"]
    assert (done["shutdown"], done["start"]) == ("", "")
    assert done["failed"]["code"] == "VM_BAD_POWER_STATE"
    assert done["cancelled"] == {"name": "Cancel", "message": "task canceled"}
    # the cancelled migration left the VM where it was
    uuid_of = {h["ref"]: h["uuid"] for h in report["hosts"]}
    assert sim.vms[0] in sim.truth()["domains"][uuid_of[done["resident_on"]]]
    assert at_master["task.cancel"] == 1 and at_master["task.destroy"] == 4
    assert sim.double_runs() == []
