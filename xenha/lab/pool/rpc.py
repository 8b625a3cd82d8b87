"""Dispatch of one XAPI call as xapi answers it: logins, session checks, master
forwarding, the handlers, and injected latency, hangs and errors."""

import contextlib
import inspect
import threading
import time
import traceback

from . import tasks
from .api_errors import Failure, Forward, Refused, Unreachable
from .handlers import Ctx, handler, has_async, is_read_only, load_all, methods
from .handlers.event import DELAY as EVENT_DELAY
from .handlers.event import Pending
from .netns import relay
from .wire import FORWARDED, LIST_METHODS, Response

# Datamodel.emergency_calls (ocaml/idl/datamodel.ml, v26.1.4), as wire names: what a
# slave's xapi in emergency mode answers (api_server.ml callback1); anything else fails
# with its emergency_mode_error (xapi_globs.ml; set by xapi.ml: members.py _hello). Only
# some are simulated; the others are then MESSAGE_METHOD_UNKNOWN, as any call not simulated.
EMERGENCY_CALLS = frozenset(
    {
        "pool.emergency_reset_master",
        "pool.emergency_transition_to_master",
        "pool.is_slave",
        "session.slave_local_login",
        "session.slave_local_login_with_password",
        "session.local_logout",
        "host.propose_new_master",
        "host.commit_new_master",
        "host.abort_new_master",
        "host.local_assert_healthy",
        "host.signal_networking_change",
        "host.local_management_reconfigure",
        "host.ha_xapi_healthcheck",
        "host.emergency_ha_disable",
        "host.management_disable",
        "host.get_system_status_capabilities",
        "host.is_in_emergency_mode",
        "host.shutdown_agent",
        "host.emergency_reset_server_certificate",
        "host.emergency_disable_tls_verification",
        "host.emergency_reenable_tls_verification",
        "host.emergency_clear_mandatory_guidance",
        "host.update_firewalld_service_status",
    }
)

# Logins, which the dispatcher answers itself.
LOGINS = frozenset({"session.login_with_password", "session.slave_local_login_with_password"})

# Calls that change no pool database: not writes for the at-most-one-master record.
NOT_WRITES = frozenset(
    {
        "session.logout",
        "session.local_logout",
        "pool.recover_slaves",
        "pool.sync_database",
    }
)


@contextlib.contextmanager
def _forwarded():
    """Failures inside are a master's answer to a call a slave passed on (api_server.ml
    ``forward``), which the slave returns as it got it."""
    try:
        yield
    except Failure as f:
        f.origin = FORWARDED
        raise


class Hang(Exception):
    """The call never gets an answer (a blocked xapi or a black-holed network)."""


class Injection:
    """A fault for calls named ``method`` ("*" for all) served by ``host`` (None: any)."""

    def __init__(self, method="*", host=None, latency=0.0, hang=False, error=None, count=None):
        self.method, self.host = method, host
        self.latency, self.hang, self.error = float(latency), bool(hang), error
        self.count = count

    def matches(self, method, host):
        return (
            self.count != 0
            and self.method in ("*", method)
            and self.host in (None, host.name, host.uuid)
        )


class Dispatcher:
    def __init__(self, pool):
        self.pool = pool
        self._arity = {}
        load_all()
        # system.listMethods: every call answered, as xapi lists its own (gen_server.ml):
        # the synchronous names, without system.listMethods itself.
        self._methods = sorted(methods() | LOGINS)

    def handle(self, host, method, params, wire):
        """The Response to one call served by ``host``, which came on ``wire`` (a slave
        passes a call on to its master in the same protocol); raises Hang."""
        inj = self._take_injection(method, host)
        if inj is not None:
            if inj.latency:
                time.sleep(inj.latency)
            if inj.hang:
                raise Hang(method)
            if inj.error:
                return Response(False, [str(e) for e in inj.error])
        started = time.monotonic()
        while True:
            with self.pool.lock:
                self.pool.tick()
                try:
                    value = self._dispatch(host, method, list(params))
                    self.pool.tick()  # what the call made due now (a fuse of 0 s) happens now
                    return Response(True, value)
                except Failure as f:
                    return Response(False, f.description(), f.origin)
                except Unreachable:
                    raise Hang(method) from None
                except Forward as f:
                    forward = f
                    break
                except Pending as p:  # event.from: nothing yet
                    if time.monotonic() - started >= p.timeout:
                        return Response(True, p.empty)
                except Exception as e:  # a simulator bug must not look like a network error
                    traceback.print_exc()
                    return Response(False, ["INTERNAL_ERROR", repr(e)])
            if self.pool.stopping.wait(EVENT_DELAY):  # outside the lock: others go on
                raise Hang(method)
        # Outside the lock: the master's endpoint is served by this same process.
        try:
            return relay(forward.host, forward.master, self.pool.port, wire, method, params)
        except OSError:
            raise Hang(method) from None

    def _take_injection(self, method, host):
        with self.pool.lock:
            for inj in self.pool.injections:
                if inj.matches(method, host):
                    if inj.count is not None:
                        inj.count -= 1
                    return inj
        return None

    def _dispatch(self, host, method, params):
        backup_read = self._backup_read(host, method, params)
        if self.pool.in_emergency(host) and method not in EMERGENCY_CALLS and not backup_read:
            raise Refused(*host.emergency_error)  # xapi.ml's, as its last Pool.hello set it
        if method == LIST_METHODS:
            return self._methods
        if method == "session.login_with_password":
            self._check_arity(method, params, 2, 4)
            if host.role == "slave":
                raise Failure("HOST_IS_SLAVE", host.master_address)
            return self._login(host, params, local=False)
        if method == "session.slave_local_login_with_password":
            self._check_arity(method, params, 2, 2)
            return self._login(host, params, local=True)
        is_async = method.startswith("Async.")
        if is_async:  # Async.<Class>.<call>: the call, run as a task
            method = method[len("Async.") :]
        cls = method.partition(".")[0]
        fn = handler(method)
        if fn is None or (is_async and method in EMERGENCY_CALLS):  # dm_api.ml check 8
            raise Failure("MESSAGE_METHOD_UNKNOWN", ("Async." if is_async else "") + method)
        n = self._arity.setdefault(method, len(inspect.signature(fn).parameters))
        self._check_arity(method, params, n, n)
        if is_async and not has_async(method):  # server_helpers.ml do_dispatch
            raise Failure("Fault", "No async mode for this operation (rpc: %s)" % method)
        session_ref, args = params[0], params[1:]
        session = host.sessions.get(session_ref)
        if session is None and host.role == "slave":
            master = self.pool.master_of(host)  # a slave checks sessions with its master
            if host.netns and master.netns:
                raise Forward(host, master)
            session = master.sessions.get(session_ref)
            with _forwarded():
                if session is None:
                    raise Failure("SESSION_INVALID", session_ref)
                return self._run(Ctx(self.pool, master, session), method, fn, args, is_async)
        if session is None:
            raise Failure("SESSION_INVALID", session_ref)
        if host.role == "master" or method in EMERGENCY_CALLS:
            ctx = Ctx(self.pool, host, session)
        else:
            ctx = self._on_master(host, session, cls, backup_read)
        return self._run(ctx, method, fn, args, is_async)

    def _run(self, ctx, method, fn, args, is_async):
        if is_async:
            result = self._start_task(ctx, method, fn, args)
        else:
            result = fn(ctx, *args)
        cls, _, name = method.partition(".")
        if not (is_read_only(cls, name) or method in NOT_WRITES or method in EMERGENCY_CALLS):
            self.pool.note_write(ctx.host, method)
            ctx.db.events.scan(ctx.db.tables)  # each write its own generations
        return result

    def _on_master(self, host, session, cls, backup_read):
        """A slave-local session's call that is not an emergency call: the slave's xapi
        needs its master's database (Db_ref.Remote) and blocks while the master is out of
        reach. The session's own record stays on this host (xapi_local_session.ml).
        Knob local_reads=backup: reads come from the slave's backup instead."""
        if self.pool.in_emergency(host):
            return Ctx(self.pool, host, session)  # only backup reads get here
        try:
            master = self.pool.master_of(host)
        except Unreachable:
            if backup_read:
                return Ctx(self.pool, host, session)
            raise
        if cls == "session":
            return Ctx(self.pool, host, session)
        return Ctx(self.pool, master, session)

    def _backup_read(self, host, method, params):
        """Whether knob local_reads=backup lets this slave-local read use the backup."""
        if self.pool.knobs["local_reads"] != "backup" or host.role != "slave" or not params:
            return False
        session = host.sessions.get(params[0]) if isinstance(params[0], str) else None
        cls, _, name = method.partition(".")
        return session is not None and session.local and is_read_only(cls, name)

    def _start_task(self, ctx, method, fn, args):
        """A pending task record now; the call runs in the background (server_helpers.ml
        do_dispatch), taking as long as an injected latency says."""
        ref = tasks.create(ctx.db, ctx.host, "Async." + method)
        inj = self._take_injection(method, ctx.host)
        runner = tasks.Runner(self.pool, ctx, ref, method, fn, args, inj)
        threading.Thread(target=runner, daemon=True).start()
        return ref

    @staticmethod
    def _check_arity(method, params, low, high):
        if not low <= len(params) <= high:
            raise Failure("MESSAGE_PARAMETER_COUNT_MISMATCH", method, high, len(params))

    def _login(self, host, params, local):
        user, password = params[0], params[1]
        if user != self.pool.user or password != self.pool.password:
            raise Failure("SESSION_AUTHENTICATION_FAILED", user, "Authentication failure")
        originator = params[3] if len(params) > 3 else ""
        return host.sessions.open(user, originator, local, host.ref).ref
