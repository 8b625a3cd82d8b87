"""xapi's slow and stale paths as the simulator models them, one knob each (knobs.py):
database backups pushed in turn, slave-local sessions and a slave without its master,
emergency mode, xapi restarts (fuse, refused connections, HOST_STILL_BOOTING, resync),
pool.conf per host, and the record of master tenures."""

import socket
import time
import xmlrpc.client

import pytest
import XenAPI

from tests.unit.test_lab_pool import failure, local_login, login, session
from xenha.lab.pool.testing import running_pool

QUICK = {"xapi_fuse": 0, "xapi_restart": 0, "master_startup": 0}


def wait_for(predicate, seconds=5.0, what="condition"):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "%s not reached in %ss" % (what, seconds)
        time.sleep(0.02)


def raw(host, method, *params):
    """The ErrorDescription of a call sent as is (the SDK's xenapi logs in again on
    SESSION_INVALID)."""
    return getattr(XenAPI.Session(host.url), method)(*params).get("ErrorDescription")


def refused(host):
    """Whether ``host``'s HTTP endpoint refuses connections."""
    try:
        session(host.url, timeout=1).xenapi.login_with_password("root", "x")
    except ConnectionRefusedError:
        return True
    except (XenAPI.Failure, OSError):
        return False
    return False


def unix_refused(host):
    """Whether nothing listens on ``host``'s local socket."""
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(host.socket)
        except (ConnectionRefusedError, FileNotFoundError):
            return True
    return False


def xapi(sim, host):
    return sim.xapi_state(host.name)


def serving(sim, host):
    state = xapi(sim, host)
    return state["xapi"] == "running" and not state["emergency"]


# -- database backups ---------------------------------------------------------------


def test_the_master_pushes_its_database_to_each_slave_in_turn():
    """pool_db_backup.ml: sleep db_sync_interval before each slave; a slave's copy is
    only a backup: what it answers comes from the master."""
    knobs = dict(QUICK, db_sync_interval=0.6)
    with running_pool(hosts=3, vms=3, knobs=knobs) as sim:
        api = login(sim).xenapi
        vm = sim.vms[0]
        first, second = sim.slaves
        api.VM.add_to_other_config(api.VM.get_by_uuid(vm), "mark", "1")
        changed = time.monotonic()

        def backed_up(host):
            return sim.record("VM", vm, host.name)["other_config"].get("mark") == "1"

        assert not backed_up(first) and not backed_up(second)
        # a slave-local session on a slave never reads the backup: it asks the master
        on_first = local_login(sim, first).xenapi
        assert on_first.VM.get_other_config(on_first.VM.get_by_uuid(vm))["mark"] == "1"
        wait_for(lambda: backed_up(first), 3, "first backup")
        assert not backed_up(second)  # its turn comes one interval later
        wait_for(lambda: backed_up(second), 3, "second backup")
        assert time.monotonic() - changed >= 0.6  # one interval before each host
        ages = [xapi(sim, h)["backup_age"] for h in (first, second)]
        assert ages[0] > ages[1]


def test_sync_database_pushes_to_every_slave_at_once():
    with running_pool(hosts=3, vms=3, knobs=dict(QUICK, db_sync_interval=1000)) as sim:
        api = login(sim).xenapi
        vm = sim.vms[0]
        api.VM.add_to_other_config(api.VM.get_by_uuid(vm), "mark", "1")
        api.pool.sync_database()
        for h in sim.slaves:
            assert sim.record("VM", vm, h.name)["other_config"]["mark"] == "1"


def test_an_emergency_master_believes_its_backup_and_its_resync_kills_a_domain():
    """A VM migrated after the last backup: the slave that runs it becomes master by
    emergency transition, starts from its backup (the VM on its old host), and its own
    resync (resync_resident_on) shuts the VM's domain down because that database says
    the VM is resident elsewhere. The old host, recovered, resets the VM to Halted."""
    state = {
        "hosts": [{"name": "host1"}, {"name": "host2"}, {"name": "host3"}],
        "vms": [{"name": "a", "host": "host3"}],
    }
    with running_pool(state=state, knobs=dict(QUICK, db_sync_interval=1000)) as sim:
        host1, host2, host3 = sim.hosts
        vm = sim.vms[0]
        api = login(sim).xenapi
        ref = api.VM.get_by_uuid(vm)
        api.VM.pool_migrate(ref, api.host.get_by_uuid(host2.uuid), {})  # after the backup
        assert sim.truth()["domains"][host2.uuid] == [vm]
        sim.power_off(host1.name)
        local_login(sim, host2).xenapi.pool.emergency_transition_to_master()
        new = login(sim, host2).xenapi
        assert new.VM.get_resident_on(ref) == new.host.get_by_uuid(host3.uuid)  # stale
        assert new.VM.get_power_state(ref) == "Running"
        assert sim.truth()["domains"][host2.uuid] == []  # its own xapi shut it down
        (shutdown,) = sim.xapi_shutdowns()
        assert (shutdown["vm"], shutdown["host"]) == (vm, host2.uuid)
        assert shutdown["why"] == "resync_resident_on"
        new.pool.recover_slaves()  # host3 restarts, resyncs: no domain of the VM there
        wait_for(lambda: new.VM.get_power_state(ref) == "Halted", 3, "VM halted")
        assert sim.double_runs() == []


# -- slave-local sessions, a slave without its master, emergency mode ----------------


def test_a_slave_without_its_master_blocks_all_but_the_emergency_calls():
    with running_pool(hosts=3, vms=3, knobs=QUICK) as sim:
        slave = sim.slaves[0]
        vm = login(sim).xenapi.VM.get_all()[0]
        local = local_login(sim, slave, timeout=0.5)
        assert local.xenapi.VM.get_power_state(vm) in ("Running", "Halted")
        sim.power_off(sim.master.name)
        with pytest.raises(socket.timeout):  # the slave's xapi retries for ever
            local.xenapi.VM.get_power_state(vm)
        local = local_login(sim, slave, timeout=0.5)
        with pytest.raises(socket.timeout):  # not an emergency call either
            local.xenapi.session.get_this_host(local._session)
        local = local_login(sim, slave, timeout=0.5)  # an emergency call: answered
        assert local.xenapi.host.is_in_emergency_mode() is False  # running, not booting
        local.xenapi.session.local_logout()


def test_local_reads_backup_is_the_kinder_knob():
    """local_reads=backup (not xapi): a slave-local read without the master answers from
    the slave's backup, stale as it is; writes still block."""
    knobs = dict(QUICK, db_sync_interval=1000, local_reads="backup")
    with running_pool(hosts=3, vms=3, knobs=knobs) as sim:
        slave = sim.slaves[0]
        api = login(sim).xenapi
        ref = api.VM.get_by_uuid(sim.vms[0])
        api.VM.add_to_other_config(ref, "mark", "1")  # after the backup
        sim.power_off(sim.master.name)
        local = local_login(sim, slave, timeout=0.5).xenapi
        assert "mark" not in local.VM.get_other_config(ref)
        with pytest.raises(socket.timeout):
            local.VM.add_to_other_config(ref, "other", "1")


def test_a_restarted_slave_without_its_master_is_in_emergency_mode():
    """xapi.ml: slave_emergency_mode until Pool.hello succeeds; only the emergency calls
    (datamodel.ml emergency_calls) are answered, anything else fails with the error its
    last Pool.hello ended in: INTERNAL_ERROR when the master cannot be reached
    (attempt_host_status_check_with_coordinator)."""
    with running_pool(hosts=2, vms=2, knobs=dict(QUICK, hello_retry=0.2)) as sim:
        slave = sim.slaves[0]
        sim.isolate(sim.master.name, True)
        sim.toolstack_restart(slave.name, 0)
        wait_for(lambda: xapi(sim, slave)["emergency"], 3, "emergency mode")
        error = failure(login, sim, slave)
        assert error[0] == "INTERNAL_ERROR", error
        local = local_login(sim, slave)  # an emergency call
        api = local.xenapi
        assert api.host.is_in_emergency_mode() is True
        assert failure(api.host.local_assert_healthy) == error
        assert failure(api.VM.get_all) == error
        assert raw(slave, "session.logout", local._session) == error  # not one
        assert failure(api.VM.no_such_call) == error  # refused before dispatch
        assert failure(api.Async.pool.emergency_transition_to_master) == error
        sim.isolate(sim.master.name, False)
        wait_for(lambda: serving(sim, slave), 3, "Pool.hello")
        assert failure(login, sim, slave) == ["HOST_IS_SLAVE", sim.master.address]
        assert len(local_login(sim, slave).xenapi.VM.get_all()) == 4  # the master's answer


def test_emergency_calls_have_no_async_form():
    with running_pool(hosts=2, vms=1, knobs=QUICK) as sim:
        local = local_login(sim, sim.slaves[0])
        assert failure(local.xenapi.Async.pool.emergency_transition_to_master) == [
            "MESSAGE_METHOD_UNKNOWN",
            "Async.pool.emergency_transition_to_master",
        ]


# -- xapi restarts ------------------------------------------------------------------


def test_emergency_transition_writes_pool_conf_then_restarts_after_the_fuse():
    knobs = {"xapi_fuse": 0.5, "xapi_restart": 1.0, "master_startup": 0.5}
    with running_pool(hosts=3, vms=3, knobs=knobs, sockets=True) as sim:
        old, new = sim.master, sim.slaves[0]
        assert new.role_on_disk() == "slave:" + old.address
        assert old.role_on_disk() == "master"
        sim.power_off(old.name)
        local = local_login(sim, new)
        local.xenapi.pool.emergency_transition_to_master()
        assert new.role_on_disk() == "master"  # written at once (set_role)
        state = xapi(sim, new)
        assert (state["role"], state["pool_conf"], state["fuse_lit"]) == (
            "slave",
            "master",
            True,
        )
        assert local.xenapi.host.is_in_emergency_mode() is False  # the old xapi runs on
        wait_for(lambda: xapi(sim, new)["xapi"] == "down", 2, "fuse")
        wait_for(lambda: refused(new) and unix_refused(new), 1, "connections refused")
        wait_for(lambda: xapi(sim, new)["xapi"] == "running", 2, "restart")
        api = login(sim, new).xenapi  # a master serves at once, still starting up
        assert xapi(sim, new)["starting"] is True
        host = api.host.get_by_uuid(new.uuid)
        assert failure(api.host.enable, host) == ["HOST_STILL_BOOTING"]
        wait_for(lambda: not xapi(sim, new)["starting"], 2, "start-up")
        api.host.enable(host)
        assert raw(new, "pool.get_all", local._session)[0] == "SESSION_INVALID"  # forgotten


def test_recover_slaves_restarts_a_slave_which_stays_booting_until_it_reaches_its_master():
    knobs = {"xapi_fuse": 0.3, "xapi_restart": 0.3, "master_startup": 0, "hello_retry": 0.2}
    with running_pool(hosts=3, vms=3, knobs=knobs) as sim:
        old, new, third = sim.master, sim.slaves[0], sim.slaves[1]
        sim.power_off(old.name)
        local_login(sim, new).xenapi.pool.emergency_transition_to_master()
        wait_for(lambda: serving(sim, new) and xapi(sim, new)["role"] == "master", 3)
        api = login(sim, new).xenapi
        assert api.pool.recover_slaves() == [api.host.get_by_uuid(third.uuid)]
        assert third.role_on_disk() == "slave:" + new.address
        assert failure(login, sim, third) == ["HOST_IS_SLAVE", old.address]  # during the fuse
        sim.isolate(new.name, True)  # the new master out of reach while third restarts
        wait_for(lambda: xapi(sim, third)["emergency"], 3, "emergency mode")
        assert failure(login, sim, third)[0] == "INTERNAL_ERROR"  # it reaches no master
        sim.isolate(new.name, False)
        wait_for(lambda: serving(sim, third), 3, "Pool.hello")
        assert failure(login, sim, third) == ["HOST_IS_SLAVE", new.address]


def test_designate_new_master_restarts_every_host_and_loses_the_fuses_writes():
    """Pool.sync_database, then the two-phase commit: every host restarts after the fuse;
    the new master starts from the synced backup, so a write the old master accepts
    during its fuse is lost."""
    knobs = {"xapi_fuse": 0.5, "xapi_restart": 0.3, "master_startup": 0, "hello_retry": 0.2}
    with running_pool(hosts=3, vms=3, knobs=knobs) as sim:
        old, new, third = sim.master, sim.slaves[0], sim.slaves[1]
        api = login(sim).xenapi
        ref = api.VM.get_by_uuid(sim.vms[0])
        api.pool.designate_new_master(api.host.get_by_uuid(new.uuid))
        assert [h.role_on_disk() for h in (old, new, third)] == [
            "slave:" + new.address,
            "master",
            "slave:" + new.address,
        ]
        api.VM.add_to_other_config(ref, "late", "1")  # the old master still serves
        for h in (old, new, third):
            wait_for(lambda h=h: xapi(sim, h)["xapi"] == "down", 2, "%s down" % h.name)
        for h in (old, new, third):
            wait_for(lambda h=h: serving(sim, h), 3, "%s back" % h.name)
        api = login(sim, new).xenapi
        assert "late" not in api.VM.get_other_config(ref)
        assert failure(login, sim, old) == ["HOST_IS_SLAVE", new.address]
        assert sim.masters_violations() == []


def test_toolstack_restart_refuses_then_resyncs_and_forgets_sessions():
    knobs = dict(QUICK, hello_retry=0.2)
    with running_pool(hosts=3, vms=3, knobs=knobs) as sim:
        slave = sim.slaves[0]
        api = login(sim).xenapi
        vm = api.VM.get_by_uuid(next(v for v in sim.vms if v in sim.truth()["domains"][slave.uuid]))
        local = local_login(sim, slave)
        sim.toolstack_restart(slave.name, 0.5)
        assert xapi(sim, slave)["xapi"] == "down"
        wait_for(lambda: refused(slave), 2, "refused")
        sim.kill_domain(api.VM.get_uuid(vm))  # while its xapi is down: nobody hears of it
        assert api.VM.get_power_state(vm) == "Running"
        wait_for(lambda: serving(sim, slave), 3, "restarted")
        assert api.VM.get_power_state(vm) == "Halted"  # the resync after the restart
        assert raw(slave, "VM.get_all", local._session)[0] == "SESSION_INVALID"
        assert xapi(sim, slave)["role"] == "slave"  # no role change


def test_the_resync_of_a_restarted_slave_kills_a_domain_the_database_places_elsewhere():
    """A VM running on host3 that the master's database places on host2 (a stale
    database): host3's resync after a toolstack restart shuts it down."""
    state = {
        "hosts": [{"name": "host1"}, {"name": "host2"}, {"name": "host3"}],
        "vms": [{"name": "a", "host": "host2"}],
    }
    with running_pool(state=state, knobs=QUICK) as sim:
        host3 = sim.hosts[2]
        vm = sim.vms[0]
        sim.isolate("host2", True)
        api = login(sim).xenapi
        ref = api.VM.get_by_uuid(vm)
        api.VM.power_state_reset(ref)  # host2 cannot be reached
        api.VM.start_on(ref, api.host.get_by_uuid(host3.uuid), False, False)
        assert len(sim.double_runs()) == 1
        sim.set_field("VM", vm, "resident_on", api.host.get_by_uuid(sim.hosts[1].uuid))
        sim.toolstack_restart(host3.name, 0)
        wait_for(lambda: serving(sim, host3), 3)
        assert vm not in sim.truth()["domains"][host3.uuid]
        assert [s["host"] for s in sim.xapi_shutdowns()] == [host3.uuid]


# -- masters ------------------------------------------------------------------------


def test_two_powered_masters_accepting_writes_is_a_recorded_violation():
    with running_pool(hosts=3, vms=3, knobs=QUICK) as sim:
        old, new = sim.master, sim.slaves[0]
        sim.power_off(old.name)
        local_login(sim, new).xenapi.pool.emergency_transition_to_master()
        sim.power_on(old.name)  # back, still believing it is master
        stale, api = login(sim, old).xenapi, login(sim, new).xenapi
        stale.VM.get_all()  # reads are not writes
        assert sim.masters_violations() == []
        ref = stale.VM.get_all()[0]
        stale.VM.add_to_other_config(ref, "k", "v")
        (v,) = sim.masters_violations()
        assert (v["name"], v["others"], v["method"]) == (
            old.name,
            [new.name],
            "VM.add_to_other_config",
        )
        api.pool.recover_slaves()  # the old master follows the new one: one master again
        api.VM.add_to_other_config(api.VM.get_all()[0], "k2", "v")
        assert len(sim.masters_violations()) == 1
        tenures = [(t["name"], t["end"] is None) for t in sim.masters()]
        assert tenures == [(old.name, False), (new.name, True), (old.name, False)]


# -- the lab --------------------------------------------------------------------------


def test_the_lab_gives_each_host_its_pool_conf_and_runs_valid_knobs():
    from xenha.lab.hosts import POOL_CONFS, XENSOURCE_DIR, Host
    from xenha.lab.pool.knobs import knob_value
    from xenha.lab.pool.service import LAB_KNOBS

    host = Host(2)
    assert (str(POOL_CONFS / "host2"), XENSOURCE_DIR) in host.binds
    assert XENSOURCE_DIR == "/etc/xensource"
    for name, value in LAB_KNOBS.items():
        knob_value(name, value)


def test_xenha_lab_toolstack_restart_restarts_the_hosts_xapi(monkeypatch, capsys):
    import types
    import xmlrpc.client

    from xenha.cli import lab as cli
    from xenha.cli.main import build_parser
    from xenha.lab.pool import service

    with running_pool(hosts=2, vms=1, knobs=QUICK) as sim:
        control = xmlrpc.client.ServerProxy(sim.control_url, allow_none=True).sim
        monkeypatch.setattr(service, "control", lambda: control)
        lab = types.SimpleNamespace(host=lambda name: sim.host(name))
        monkeypatch.setattr(cli, "_lab", lambda: lab)
        args = build_parser().parse_args(["lab", "toolstack-restart", "host2"])
        assert args.seconds == 20  # xapi's restart, whatever the pool's knob says
        args.seconds = 0.5
        assert args.func(args) == 0
        assert capsys.readouterr().out == "host2: xapi restarting\n"
        assert xapi(sim, sim.host("host2"))["xapi"] == "down"
        wait_for(lambda: serving(sim, sim.host("host2")), 3, "restarted")


def test_an_isolated_host_still_answers_on_its_unix_socket():
    """A cut network black-holes a host's TCP endpoints; its local socket is no network."""
    from xenha.xapi import Client, Settings

    with running_pool(hosts=2, vms=1, knobs=QUICK, sockets=True) as sim:
        sim.isolate(sim.master.name, True)
        with pytest.raises(socket.timeout):
            login(sim, sim.master, timeout=1)
        settings = Settings(
            url=None, socket_path=sim.master.socket, password_file=sim.password_file
        )
        local = Client(settings, cache_dir=None)
        assert local.xenapi.host.get_uuid(local.master()) == sim.master.uuid


def test_an_isolated_host_reaches_no_other_hosts_endpoint():
    """Its calls to another host (from its own address) hang as its own endpoint does;
    others calling that host are answered."""
    import http.client
    from urllib.parse import urlsplit

    def login_from(source, target):
        url = urlsplit(target.url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=1,
                                          source_address=(source, 0))  # fmt: skip
        body = xmlrpc.client.dumps(("root", "x"), "session.login_with_password")
        conn.request("POST", "/", body, {"Content-Type": "text/xml"})
        try:
            return xmlrpc.client.loads(conn.getresponse().read())[0][0]["Status"]
        finally:
            conn.close()

    with running_pool(hosts=3, vms=1, knobs=QUICK) as sim:
        cut, other, third = sim.master, sim.slaves[0], sim.slaves[1]
        assert login_from(cut.address, other) == "Failure"  # an answer (HOST_IS_SLAVE)
        sim.isolate(cut.name, True)
        with pytest.raises(socket.timeout):
            login_from(cut.address, other)
        assert login_from(third.address, other) == "Failure"
