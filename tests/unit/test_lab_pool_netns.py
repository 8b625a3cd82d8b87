"""Lab hosts in network namespaces: each host's endpoint listens inside its namespace and
reachability between hosts is what the lab network really carries (blackhole routes cut
it), as the lab will use the simulator."""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from xenha.lab.pool.testing import running_pool
from xenha.xapi import Client, Settings, XapiError, XapiUnreachable

TAG = "xs%d" % (os.getpid() % 10000)
SUBNET = "198.19.%d." % (os.getpid() % 250)
BRIDGE = TAG + "br"


def ip(*argv):
    subprocess.run(["ip"] + list(argv), check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def plug(name, address):
    ns = "%s-%s" % (TAG, name)
    ip("netns", "add", ns)
    ip("link", "add", TAG + name, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", TAG + name, "master", BRIDGE, "up")
    ip("-n", ns, "addr", "add", address + "/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "link", "set", "lo", "up")
    return ns


@pytest.fixture
def lab_net():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create network namespaces")
    try:
        ip("link", "add", BRIDGE, "type", "bridge")
    except subprocess.CalledProcessError as e:
        pytest.skip("cannot create a bridge here: %s" % e.stderr.decode().strip())
    namespaces = []
    try:
        ip("addr", "add", SUBNET + "1/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for i, name in enumerate(("h1", "h2")):
            namespaces.append(plug(name, SUBNET + str(11 + i)))
        yield namespaces
    finally:
        for ns in namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "link", "del", BRIDGE], stderr=subprocess.DEVNULL)


def wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in %ss" % seconds
        time.sleep(0.1)


def json_rpc(url, method, *params):
    """A JSON-RPC 2.0 call sent as is; the decoded answer."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    request = urllib.request.Request(url + "jsonrpc", body.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def serving(sim, host):
    """``host``'s xapi listens and has left emergency mode."""
    state = sim.xapi_state(host)
    return state["xapi"] == "running" and not state["emergency"]


def test_hosts_in_namespaces_are_cut_by_the_lab_network(lab_net, tmp_path):
    ns1, ns2 = lab_net
    state = {
        "hosts": [
            {"name": "h1", "address": SUBNET + "11", "netns": "/run/netns/" + ns1},
            {"name": "h2", "address": SUBNET + "12", "netns": "/run/netns/" + ns2},
        ],
        "vms": [{"name": "v", "host": "h2"}],
    }
    knobs = {"xapi_restart": 0.3, "master_startup": 0, "hello_retry": 0.2}
    with running_pool(state=state, knobs=knobs) as sim:
        h1, h2 = sim.host("h1"), sim.host("h2")
        st = Settings(url=h2.url, password_file=sim.password_file, timeout=2)
        with Client(st, cache_dir=str(tmp_path)) as c:
            assert c.xenapi.host.get_uuid(c.master()) == h1.uuid  # followed over the bridge
            vm = c.resolve_vm("v")
            with pytest.raises(XapiError) as e:
                c.xenapi.VM.power_state_reset(vm)
            assert e.value.code == "HOST_IS_LIVE"
            # cut h2 from h1 on the lab network: the master can no longer reach it
            ip("-n", ns2, "route", "add", "blackhole", SUBNET + "11/32")
            wait_for(lambda: sim.host_state("h1")["reaches"] == [])
            c.xenapi.VM.power_state_reset(vm)
            assert sim.truth()["domains"][h2.uuid] == [sim.vms[0]]  # still running there
        # a pool session used at the cut-off slave gets no answer (its xapi waits) ...
        with Client(st, cache_dir=str(tmp_path)) as c:
            c._ensure()
            c._use(h2.url, c._ref)
            with pytest.raises(XapiUnreachable):
                c.xenapi.pool.get_all()
            # ... and once its xapi restarted, cannot do Pool.hello over the cut: it is in
            # emergency mode and answers what its Pool.hello ended in, INTERNAL_ERROR
            sim.toolstack_restart("h2")
            wait_for(lambda: sim.xapi_state("h2")["xapi"] == "running")
            assert sim.host_state("h2")["emergency"] is True
            with pytest.raises(XapiError) as e:
                c._raw("pool.get_all", (c._ref,))
            assert e.value.code == "INTERNAL_ERROR"
        ip("-n", ns2, "route", "del", "blackhole", SUBNET + "11/32")
        wait_for(lambda: sim.host_state("h2")["emergency"] is False)  # hello went through
        # ... and once the link is back, the slave relays it over the lab network
        with Client(st, cache_dir=str(tmp_path)) as c:
            c._ensure()
            c._use(h2.url, c._ref)
            assert len(c.xenapi.host.get_all()) == 2
            # in the protocol it came in: JSON-RPC keeps int64 numbers, and a failure is
            # the master's 1.0 list (api_server.ml forward)
            record = json_rpc(h2.url, "VM.get_record", c._ref, vm)["result"]
            domain = next(d for d in sim.domains("h2") if d["uuid"] == sim.vms[0])
            assert record["domid"] == domain["domid"]
            answer = json_rpc(h2.url, "VM.get_record", c._ref, "OpaqueRef:nope")
            assert answer["error"] == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
            # an Async call, relayed in either protocol: the master runs its task
            h2_ref = c.xenapi.host.get_by_uuid(h2.uuid)
            free = c.xenapi.host.compute_free_memory(h2_ref)
            task = json_rpc(h2.url, "Async.host.compute_free_memory", c._ref, h2_ref)["result"]
            wait_for(lambda: c.xenapi.task.get_status(task) == "success")
            assert json_rpc(h2.url, "task.get_result", c._ref, task)["result"] == (
                "<value>%s</value>" % free
            )
            task = c.xenapi.Async.host.compute_free_memory(h2_ref)
            wait_for(lambda: c.xenapi.task.get_status(task) == "success")
            assert c.xenapi.task.get_progress(task) == 1.0
        # a reboot in a fresh namespace: the endpoint listens again inside it
        sim.power_off("h2")
        subprocess.run(["ip", "netns", "del", ns2], check=True)
        subprocess.run(["ip", "link", "del", TAG + "h2"], stderr=subprocess.DEVNULL)
        plug("h2", SUBNET + "12")
        sim.power_on("h2")
        wait_for(lambda: serving(sim, "h2"))
        local = Client(st, cache_dir=None).emergency()
        with local:
            assert local.xenapi.host.get_uuid(local.this_host()) == h2.uuid
