"""The XAPI client everything in xenha uses (on the official XenAPI SDK).

It keeps one session per node and originator in a root-only cache, re-logs in on
SESSION_INVALID, follows HOST_IS_SLAVE to the master, retries xapi's restarts within
the caller's ``patience`` (retry.py), and turns every failure into XapiError (XAPI said
no) or XapiUnreachable (no answer within the timeout).
"""

import http.client
import re
import xmlrpc.client
from urllib.parse import urlsplit

from xenha import log
from xenha.deadline import Deadline
from xenha.errors import XenhaError

from .cache import SessionCache
from .faults import EMERGENCY_ERRORS, XapiError, XapiUnreachable, is_transient
from .retry import Retry
from .transport import endpoint

# A login made under the node's session lock (every other agent on the node waits behind
# it) gets at most this many seconds in all, whatever the caller's per-call timeout (up
# to 120 s for a start): a login is a password check and a session record on the master,
# one or two round trips (HOST_IS_SLAVE sends it on to the master) that take
# milliseconds on a pool's LAN, and a dead endpoint costs CONNECT_TIMEOUT (2 s).
LOGIN_TIMEOUT = 5.0
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
API_VERSION = "1.0"
_SELF = object()  # stands for the current session reference in call arguments
# The connection went away between the request and its answer: xapi exited mid-call.
_RESET = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.BadStatusLine,  # RemoteDisconnected too
    http.client.IncompleteRead,
)


class _Proxy:
    """``client.xenapi.VM.get_all()``: SDK-style names; the session is added for you."""

    def __init__(self, call, name):
        self._call_fn = call
        self._name = name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Proxy(self._call_fn, "%s.%s" % (self._name, name) if self._name else name)

    def __call__(self, *args):
        return self._call_fn(self._name, args)


def lock_wait(timeout):
    """How long a process with per-call ``timeout`` waits for another's login under the
    session lock: the holder's bound and a second, but at most half its own timeout, so
    that it still has time to answer ("cannot tell") rather than spend it all waiting."""
    return min(LOGIN_TIMEOUT + 1.0, timeout / 2.0)


class Client:
    def __init__(
        self, settings, originator="xenha", cache_dir="/run/xenha/xapi", _local=False, patience=None
    ):
        """``patience``: a Deadline until which a call that meets xapi restarting (refused,
        reset, HOST_STILL_BOOTING, its session gone) is tried again; None: never."""
        self.settings = settings
        self.patience = patience
        self.originator = originator
        self.cache_dir = cache_dir
        self._local = _local
        self._cache = None
        if cache_dir:
            key = "|".join(
                (
                    "local" if _local else "pool",
                    settings.url or "unix:" + settings.socket_path,
                    settings.user,
                    originator,
                )
            )
            cache = SessionCache(cache_dir, key, lock_wait(settings.timeout))
            if cache.usable():
                self._cache = cache
        self._url = settings.url
        self._proxy = None
        self._transport = None
        self._ref = None
        self._entry = {}
        self.xenapi = _Proxy(self._call, None)

    # -- context manager -----------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """One-shot clients (no cache) log out; cached sessions stay for the next process."""
        if self._ref and self._cache is None:
            method = "session.local_logout" if self._local else "session.logout"
            try:
                self._raw(method, (self._ref,))
            except (XapiError, XapiUnreachable):
                pass
        self._drop_connection()
        self._ref = None

    # -- the questions the agents ask ---------------------------------------------

    def this_host(self):
        """The host of the configured endpoint (not the master the client followed)."""
        self._ensure()
        if self._local or self._url == self.settings.url:
            return self._call("session.get_this_host", (_SELF,))
        if not self._entry.get("this_host"):
            with self.emergency() as local:
                self._entry["this_host"] = local.this_host()
            self._save_entry()
        return self._entry["this_host"]

    def master(self):
        pool = self.xenapi.pool.get_all()[0]
        return self.xenapi.pool.get_master(pool)

    def master_reachable(self):
        """Whether the master answers now (one try: a restarting master is not reachable,
        nor a master this host's xapi in emergency mode cannot reach, nor one parked at
        boot, its own slave: xenha.boot_role)."""
        try:
            self._call("pool.get_all", (), patient=False)
            return True
        except XapiUnreachable:
            return False
        except XapiError as e:
            if e.code in EMERGENCY_ERRORS:
                return False
            raise

    def follows(self, address=None):
        """The address of the master that the xapi at ``address`` (None: the configured
        endpoint) follows, or None when it is a master itself. Asked as xapi answers it:
        a login, which a slave refuses with HOST_IS_SLAVE(master); the session is logged
        out at once."""
        url = self.settings.url if address is None else self._master_url(address)
        peer = Client(self.settings, self.originator, cache_dir=None)
        peer._use(url, None)
        params = (self.settings.user, self.settings.password(), API_VERSION, self.originator)
        retry = Retry(self.patience, "session.login_with_password")
        try:
            while True:
                try:
                    peer._ref = peer._raw("session.login_with_password", params)
                    return None
                except XapiError as e:
                    if e.code == "HOST_IS_SLAVE" and e.params:
                        return e.params[0]
                    if e.code == "HOST_ITS_OWN_SLAVE" and address is not None:
                        return address  # it follows itself (parked: xenha.boot_role)
                    if not retry.again(e):
                        raise
                except XapiUnreachable as e:
                    if not retry.again(e):
                        raise
        finally:
            peer.close()

    def follow_current_master(self):
        """Make sure calls go to the master the configured endpoint names now: after a
        master change, the cached session still points at the old master, which may be
        dead (every call would first wait for its connect to time out). One login
        attempt at the endpoint; a new session only when the master changed."""
        if self._local:
            return
        self._ensure()
        leader = self.follows()
        if (self.settings.url if leader is None else self._master_url(leader)) != self._url:
            self.relogin()

    def relogin(self):
        """A new session through the configured endpoint, replacing the cached one (this
        host just became master, or the pool has a new one)."""
        if self._cache is None:
            self.close()
            self._fresh_session(self.settings.timeout)
            return
        with self._cache:
            self._fresh_session(min(LOGIN_TIMEOUT, self.settings.timeout))

    def host_is_live(self, host_ref):
        metrics = self.xenapi.host.get_metrics(host_ref)
        return bool(self.xenapi.host_metrics.get_live(metrics))

    def resolve_vm(self, key):
        def regular(ref):
            rec = self.xenapi.VM.get_record(ref)
            return not (rec["is_a_template"] or rec["is_a_snapshot"] or rec["is_control_domain"])

        return self._resolve("VM", key, regular)

    def resolve_host(self, key):
        return self._resolve("host", key, lambda ref: True)

    def emergency(self):
        """A client on this host's slave-local session: read-only questions and
        pool.emergency_transition_to_master when the master is gone. Its session is its
        own, logged out at close, never cached: a cached one outlives a restart of this
        host's xapi, and a slave checks a session it does not know with its master, so
        with the master gone the call that should take over from it hangs."""
        return Client(self.settings, self.originator, None, _local=True, patience=self.patience)

    # -- sessions ---------------------------------------------------------------------

    def _resolve(self, cls, key, keep):
        api = getattr(self.xenapi, cls)
        if UUID_RE.match(key):
            try:
                return api.get_by_uuid(key.lower())
            except XapiError as e:
                if e.code == "UUID_INVALID":
                    raise XenhaError("no %s with UUID %s" % (cls, key)) from None
                raise
        refs = [r for r in api.get_by_name_label(key) if keep(r)]
        if not refs:
            raise XenhaError("no %s named %r" % (cls, key))
        if len(refs) > 1:
            uuids = sorted(api.get_uuid(r) for r in refs)
            raise XenhaError(
                "%s name %r is ambiguous (UUIDs %s); give a UUID" % (cls, key, ", ".join(uuids))
            )
        return refs[0]

    def _connect(self, url, timeout=None):
        import XenAPI

        uri, self._transport = endpoint(self.settings, url, timeout)
        return XenAPI.Session(uri, transport=self._transport)

    def _drop_connection(self):
        if self._proxy is not None:
            self._proxy("close")()
            self._proxy = None

    def _use(self, url, ref, timeout=None):
        self._drop_connection()
        self._url, self._ref = url, ref
        self._proxy = self._connect(url, timeout)

    def _raw(self, method, params):
        """One call on the current connection; the XAPI value or a typed error."""
        if self._proxy is None:
            self._proxy = self._connect(self._url)
        # The method only: the parameters of a login carry the password.
        log.debug("XAPI %s at %s", method, self._url or "the local socket")
        try:
            result = getattr(self._proxy, method)(*params)
        except xmlrpc.client.Fault as e:
            raise XapiError("XMLRPC_FAULT", [e.faultCode, e.faultString]) from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as e:
            self._drop_connection()
            where = self._url or "local socket " + self.settings.socket_path
            raise XapiUnreachable(
                "no answer from XAPI at %s to %s: %s" % (where, method, e or type(e).__name__),
                refused=isinstance(e, (ConnectionRefusedError, FileNotFoundError)),
                reset=isinstance(e, _RESET),
            ) from None
        if not isinstance(result, dict) or "Status" not in result:
            raise XapiError("INVALID_RESPONSE", [repr(result)[:200]])
        if result["Status"] == "Success":
            return result.get("Value")
        desc = result.get("ErrorDescription") or ["UNKNOWN_ERROR"]
        raise XapiError(desc[0], desc[1:])

    def _login(self, bound):
        """Log in at the configured endpoint, following HOST_IS_SLAVE, within ``bound``
        seconds in all (each socket operation too); the connection then gets the call
        timeout back."""
        user, password = self.settings.user, self.settings.password()
        deadline = Deadline(bound)
        self._use(self.settings.url, None, timeout=bound)
        if self._local:
            ref = self._raw("session.slave_local_login_with_password", (user, password))
            self._transport.set_timeout(self.settings.timeout)
            return ref
        params = (user, password, API_VERSION, self.originator)
        # While a master changes (emergency transition, recover_slaves), hosts may name
        # a master that is not master yet: follow the answers until one logs us in,
        # within the bound, instead of failing the agent's action at once.
        while True:
            self._transport.set_timeout(max(deadline.left(), 0.05))
            try:
                ref = self._raw("session.login_with_password", params)
                self._transport.set_timeout(self.settings.timeout)
                return ref
            except XapiError as e:
                if e.code != "HOST_IS_SLAVE" or not e.params or deadline.expired():
                    raise
                url = self._master_url(e.params[0])
                if url == self._url:  # a host naming itself: not master yet
                    deadline.sleep(0.2)
                    url = self.settings.url
                self._use(url, None, timeout=max(deadline.left(), 0.05))

    def _master_url(self, address):
        host = "[%s]" % address if ":" in address else address
        if self.settings.url is None:
            return "https://%s/" % host
        parts = urlsplit(self.settings.url)
        port = ":%d" % parts.port if parts.port else ""
        return "%s://%s%s/" % (parts.scheme, host, port)

    def _fresh_session(self, bound):
        self._ref = self._login(bound)
        self._entry = {"url": self._url, "session": self._ref}
        self._save_entry()

    def _save_entry(self):
        if self._cache is not None:
            self._cache.save(self._entry)

    def _ensure(self, stale=None):
        """Have a session: the cached one unless it is ``stale`` (the session that just
        failed; another process may already have replaced it), else a new login."""
        if self._ref and stale is None:
            return
        if self._cache is None:
            self._fresh_session(self.settings.timeout)
            return
        # Under the lock, one login of at most LOGIN_TIMEOUT; while the pool's master is
        # changing (hosts naming a master that is not one yet), ask again outside it,
        # within the call timeout, so the other agents on the node get in meanwhile.
        deadline = Deadline(self.settings.timeout)
        while True:
            with self._cache:
                entry = self._cache.load()
                if entry.get("session") and entry.get("session") != stale:
                    self._entry = entry
                    self._use(entry["url"], entry["session"])
                    return
                try:
                    self._fresh_session(min(LOGIN_TIMEOUT, max(deadline.left(), 0.05)))
                    return
                except XapiError as e:
                    if e.code != "HOST_IS_SLAVE" or deadline.left() < 1.0:
                        raise
            deadline.sleep(0.2)

    def _call(self, method, args, patient=True):
        """``method`` with the session; SESSION_INVALID gets a new login (xapi restarted,
        session cap reached), a followed master that does not answer a look at the
        configured endpoint again, and xapi restarting (retry.py) a retry within
        ``patience`` (unless ``patient`` is False)."""
        retry = Retry(self.patience if patient else None, method)
        stale, relogins, rerouted, dead = None, 0, False, None
        while True:
            try:
                self._ensure(stale)
                stale = None
                if dead is not None:
                    (old, error), dead = dead, None
                    if self._url == old and not is_transient(error):
                        raise error  # the same dead master: no answer
                params = [self._ref] + [self._ref if a is _SELF else a for a in args]
                return self._raw(method, params)
            except XapiError as e:
                if e.code == "SESSION_INVALID" and relogins < 2 and self._ref:
                    relogins, stale = relogins + 1, self._ref
                    continue
                if not retry.again(e):
                    raise
            except XapiUnreachable as e:
                if not (self._local or rerouted or self._url == self.settings.url):
                    # The master we followed is gone: ask the configured endpoint again,
                    # in case the pool has a new master.
                    rerouted, stale, dead = True, self._ref, (self._url, e)
                    continue
                if not retry.again(e):
                    raise
