"""xenha.xapi.Client against the simulator: master following, cached sessions, timeouts,
typed errors and name resolution."""

import os
import subprocess
import sys
import time

import pytest

from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.lab.pool.testing import running_pool
from xenha.xapi import Client, Settings, XapiError, XapiUnreachable

# xapi's windows, shortened as in the agent tests: a role change's fuse and restart of a
# few seconds (xapi: 10 s, then about 20 s refusing connections). Every other knob is
# xapi's: a slave's reads wait for its master.
KNOBS = {"xapi_fuse": 1, "xapi_restart": 2}
RIDE_OUT = 30  # seconds a client retries xapi restarting (an action's patience)


@pytest.fixture
def sim():
    with running_pool(hosts=3, vms=4, knobs=KNOBS) as s:
        yield s


def patient():
    return Deadline(RIDE_OUT)


def settings(sim, host, **kw):
    kw.setdefault("timeout", 3.0)
    return Settings(url=host.url, password_file=sim.password_file, **kw)


def test_follows_the_master_and_knows_its_own_host(sim, tmp_path):
    slave = sim.slaves[0]
    with Client(settings(sim, slave), cache_dir=str(tmp_path)) as c:
        assert c.xenapi.host.get_uuid(c.master()) == sim.master.uuid
        assert c.xenapi.host.get_uuid(c.this_host()) == slave.uuid
        assert c.master_reachable() is True
        assert c.host_is_live(c.this_host()) is True


def test_a_thousand_invocations_share_one_session(sim, tmp_path):
    st = settings(sim, sim.slaves[1])
    for _ in range(1000):
        with Client(st, originator="agent", cache_dir=str(tmp_path)) as c:
            c.xenapi.pool.get_all()
    assert sim.session_count("agent") == 1
    cache = tmp_path / os.listdir(str(tmp_path))[0]
    assert oct(os.stat(str(tmp_path)).st_mode & 0o777) == "0o700"
    assert {oct(os.stat(str(p)).st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o600"}
    assert cache.exists()


def test_relogin_when_the_cached_session_is_gone(sim, tmp_path):
    st = settings(sim, sim.master)
    with Client(st, originator="agent", cache_dir=str(tmp_path)) as c:
        c.xenapi.pool.get_all()
    sim.power_off(sim.master.name)  # the master's xapi restarts: its sessions are gone
    sim.power_on(sim.master.name)
    with Client(st, originator="agent", cache_dir=str(tmp_path), patience=patient()) as c:
        assert c.xenapi.host.get_uuid(c.master()) == sim.master.uuid
    assert sim.session_count("agent") == 1


def test_one_shot_client_logs_out(sim):
    with Client(settings(sim, sim.slaves[0]), originator="once", cache_dir=None) as c:
        c.xenapi.VM.get_all()
        assert sim.session_count("once") == 1
    assert sim.session_count("once") == 0


def test_a_hung_call_times_out(sim, tmp_path):
    sim.inject("VM.get_all", "", 0, True)
    with Client(settings(sim, sim.master, timeout=1.0), cache_dir=str(tmp_path)) as c:
        started = time.monotonic()
        with pytest.raises(XapiUnreachable):
            c.xenapi.VM.get_all()
        assert time.monotonic() - started < 1.9


def test_typed_errors(sim, tmp_path):
    with Client(settings(sim, sim.master), cache_dir=str(tmp_path)) as c:
        vm = c.resolve_vm(sim.vms[0])
        c.xenapi.VM.hard_shutdown(vm)
        with pytest.raises(XapiError) as e:
            c.xenapi.VM.clean_shutdown(vm)
        assert e.value.code == "VM_BAD_POWER_STATE"
        assert e.value.params == [vm, "running", "halted"]
    sim.inject("VM.start", "", 0, False, ["NO_HOSTS_AVAILABLE"], 1)
    with Client(settings(sim, sim.master), cache_dir=str(tmp_path)) as c:
        with pytest.raises(XapiError) as e:
            c.xenapi.VM.start(vm, False, False)
        assert (e.value.code, e.value.params) == ("NO_HOSTS_AVAILABLE", [])


def test_wrong_password_and_unreachable_endpoints(sim, tmp_path):
    bad = tmp_path / "bad.secret"
    bad.write_text("nope\n")
    bad.chmod(0o600)
    st = Settings(url=sim.master.url, password_file=str(bad), timeout=2)
    with pytest.raises(XapiError) as e, Client(st, cache_dir=None) as c:
        c.xenapi.VM.get_all()
    assert e.value.code == "SESSION_AUTHENTICATION_FAILED"
    bad.chmod(0o644)
    with pytest.raises(XenhaError, match="chmod 600"), Client(st, cache_dir=None) as c:
        c.xenapi.VM.get_all()
    sim.power_off(sim.master.name)
    with pytest.raises(XapiUnreachable), Client(settings(sim, sim.master), cache_dir=None) as c:
        c.xenapi.VM.get_all()


def test_master_gone_emergency_view(sim, tmp_path):
    slave = sim.slaves[0]
    with Client(settings(sim, slave), cache_dir=str(tmp_path), patience=patient()) as c:
        c.xenapi.pool.get_all()
        sim.power_off(sim.master.name)
        assert c.master_reachable() is False
        with c.emergency() as local:
            # a slave's database reads wait for its master (xen-api db_globs.ml): no answer
            with pytest.raises(XapiUnreachable):
                local.xenapi.host.get_all()
            local.xenapi.pool.emergency_transition_to_master()  # an emergency call answers
        # the cached master is dead; once the slave's xapi has restarted as master (its
        # fuse, then refusing connections), the configured endpoint leads to it
        assert c.xenapi.host.get_uuid(c.master()) == slave.uuid


def test_names_resolve_only_when_unique(tmp_path):
    state = {
        "hosts": [{"name": "h1"}, {"name": "h2"}],
        "vms": [
            {"name": "web", "uuid": "11111111-1111-4111-8111-111111111111"},
            {"name": "web", "uuid": "22222222-2222-4222-8222-222222222222"},
            {"name": "db", "host": "h1"},
            {"name": "db", "is_a_template": True},
        ],
    }
    with running_pool(state=state) as sim, Client(
        settings(sim, sim.master), cache_dir=str(tmp_path)
    ) as c:
        assert c.xenapi.VM.get_name_label(c.resolve_vm("db")) == "db"
        with pytest.raises(XenhaError) as e:
            c.resolve_vm("web")
        assert "11111111-1111-4111-8111-111111111111" in str(e.value)
        assert "22222222-2222-4222-8222-222222222222" in str(e.value)
        assert c.resolve_vm("22222222-2222-4222-8222-222222222222") == c.xenapi.VM.get_by_uuid(
            "22222222-2222-4222-8222-222222222222"
        )
        with pytest.raises(XenhaError, match="no VM named 'nothing'"):
            c.resolve_vm("nothing")
        with pytest.raises(XenhaError, match="no host with UUID"):
            c.resolve_host("33333333-3333-4333-8333-333333333333")
        assert c.xenapi.host.get_name_label(c.resolve_host("h2")) == "h2"


def test_concurrent_processes_share_the_cached_session(sim, tmp_path):
    code = (
        "import sys\n"
        "from xenha.xapi import Client, Settings\n"
        "st = Settings(url=sys.argv[1], password_file=sys.argv[2])\n"
        "for _ in range(20):\n"
        "    with Client(st, originator='agent', cache_dir=sys.argv[3]) as c:\n"
        "        c.xenapi.VM.get_all()\n"
    )
    argv = [sys.executable, "-c", code, sim.slaves[0].url, sim.password_file, str(tmp_path)]
    procs = [subprocess.Popen(argv) for _ in range(6)]
    assert [p.wait(60) for p in procs] == [0] * 6
    assert sim.session_count("agent") == 1


def test_cached_session_survives_a_planned_master_change(sim, tmp_path):
    st = settings(sim, sim.master)
    with Client(st, originator="agent", cache_dir=str(tmp_path)) as c:
        new = c.resolve_host(sim.slaves[1].name)
        c.xenapi.pool.designate_new_master(new)
    # both xapis restart: the cached session is invalid and the old master is a slave
    with Client(st, originator="agent", cache_dir=str(tmp_path), patience=patient()) as c:
        assert c.xenapi.host.get_uuid(c.master()) == sim.slaves[1].uuid
        assert c.xenapi.host.get_uuid(c.this_host()) == sim.master.uuid


def test_the_login_lock_is_waited_for_at_most_the_timeout(sim, tmp_path):
    """A process stuck logging in to a dead master must not hold every agent behind it."""
    import fcntl
    import threading

    client = Client(settings(sim, sim.master, timeout=1.0), cache_dir=str(tmp_path))
    holder = os.open(client._cache.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    outcome = []

    def call():
        try:
            client.xenapi.pool.get_all()
        except XapiUnreachable as e:
            outcome.append(str(e))

    worker = threading.Thread(target=call, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(5)
    os.close(holder)
    assert not worker.is_alive(), "the client waited for the login lock without a bound"
    assert time.monotonic() - started < 2.5
    assert len(outcome) == 1 and "session lock" in outcome[0] and ".lock" in outcome[0]
    client.close()


def test_a_slow_login_under_the_lock_is_bounded_and_waiters_give_up_early(sim, tmp_path):
    """A start (a 30 s per-call budget here; up to 120 s in production) whose login the
    master answers only after 20 s: holding the node's session lock for all that time
    would make every other agent on the node wait its whole budget. The login gets
    LOGIN_TIMEOUT (5 s); a monitor waiting meanwhile (4 s per call) gives up, "cannot
    tell", after half its budget; once the start let go, the next login gets in at once."""
    import threading

    sim.inject("session.login_with_password", "", 20.0, False, None, 1)  # the first login

    def client(timeout):
        st = settings(sim, sim.master, timeout=timeout)
        return Client(st, originator="agent", cache_dir=str(tmp_path))

    start, monitor = client(30.0), client(4.0)
    outcome = {}

    def call(name, c):
        began = time.monotonic()
        try:
            c.xenapi.pool.get_all()
            outcome[name] = ("answered", time.monotonic() - began)
        except XapiUnreachable as e:
            outcome[name] = (str(e), time.monotonic() - began)

    holder = threading.Thread(target=call, args=("start", start), daemon=True)
    holder.start()
    time.sleep(0.5)  # the start is logging in, under the lock
    call("monitor", monitor)
    holder.join(25)
    message, waited = outcome["monitor"]
    assert "session lock" in message and waited < 2.5, outcome  # not its whole 4 s
    message, took = outcome["start"]
    assert "no answer from XAPI" in message and took < 6.5, outcome  # not 20 s
    call("later", monitor)
    assert outcome["later"][0] == "answered" and outcome["later"][1] < 2, outcome
    assert sim.session_count("agent") == 1
    start.close()
    monitor.close()


def test_a_session_another_process_renewed_is_reused_after_the_master_died(sim, tmp_path):
    """After the master died, only the first agent logs in again; the others take its session."""
    st = settings(sim, sim.slaves[0])
    first = Client(st, originator="agent", cache_dir=str(tmp_path), patience=patient())
    second = Client(st, originator="agent", cache_dir=str(tmp_path), patience=patient())
    first.xenapi.pool.get_all()
    second.xenapi.pool.get_all()
    assert first._url == second._url == sim.master.url
    sim.power_off(sim.master.name)
    with first.emergency() as local:
        local.xenapi.pool.emergency_transition_to_master()
    assert first.xenapi.host.get_uuid(first.master()) == sim.slaves[0].uuid
    assert second.xenapi.host.get_uuid(second.master()) == sim.slaves[0].uuid
    assert second._ref == first._ref
    assert sim.session_count("agent") == 1
    first.close()
    second.close()


def test_follow_current_master_leaves_a_dead_master_alone(sim, tmp_path):
    """After a takeover, an action first asks its endpoint which master it follows, so
    no call waits on the old master (powered off: its calls hang for the whole timeout)."""
    slave, new = sim.slaves
    st = settings(sim, slave, timeout=30.0)
    with Client(st, originator="agent", cache_dir=str(tmp_path)) as c:
        c.xenapi.pool.get_all()
        assert c._url == sim.master.url
    sim.power_off(sim.master.name)
    with Client(settings(sim, new), cache_dir=None).emergency() as local:
        local.xenapi.pool.emergency_transition_to_master()
    assert Deadline(RIDE_OUT).poll(lambda: sim.host_state(new.name)["role"] == "master", 0.2)
    with Client(settings(sim, new), cache_dir=None, patience=patient()) as c:
        c.xenapi.pool.recover_slaves()
    wait_for_xapi(sim, slave)  # it restarts to follow the new master
    started = time.monotonic()
    with Client(st, originator="agent", cache_dir=str(tmp_path)) as c:
        c.follow_current_master()
        assert c.xenapi.host.get_uuid(c.master()) == new.uuid
    assert time.monotonic() - started < 10  # not the 30 s a call to the old master hangs
    with Client(st, originator="agent", cache_dir=str(tmp_path)) as c:
        c.follow_current_master()  # the master did not change: the cached session stays
        c.xenapi.pool.get_all()
    assert sim.session_count("agent") == 1


def wait_for_xapi(sim, host):
    """Until ``host``'s xapi runs again, its fuse out and its emergency mode over."""

    def calm():
        s = sim.xapi_state(host.name)
        return s["xapi"] == "running" and not s["fuse_lit"] and not s["emergency"]

    assert Deadline(RIDE_OUT).poll(calm, 0.2), sim.xapi_state(host.name)


def test_a_connect_is_bounded_apart_from_the_call_timeout(monkeypatch):
    from xenha.xapi import transport

    seen = []

    class Sock:
        def settimeout(self, t):
            seen.append(("call", t))

        def setsockopt(self, *args):
            pass

    def create_connection(address, timeout, source_address=None):
        seen.append(("connect", timeout))
        return Sock()

    monkeypatch.setattr(transport.socket, "create_connection", create_connection)
    uri, t = transport.endpoint(Settings(url="http://198.18.0.1/", timeout=30.0), "http://x/")
    t.make_connection("198.18.0.1").connect()
    assert seen == [("connect", transport.CONNECT_TIMEOUT), ("call", 30.0)]
