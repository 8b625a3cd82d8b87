"""Who may use the lab Redfish service (DSP0266 "Authentication"): HTTP Basic with
the endpoint's one login, or a Redfish session's X-Auth-Token."""

import base64
import hmac
import secrets
import threading
import time

from xenha.lab.power.redfish_docs import SESSION_TIMEOUT, SESSIONS, session

# DSP0266 "Response headers": a 401 says how to authenticate.
CHALLENGE = ("WWW-Authenticate", 'Basic realm="Redfish"')


def credentials_ok(user, password, endpoint):
    if not isinstance(user, str) or not isinstance(password, str):
        return False
    # Both compared, always: the time taken tells nothing of which one was wrong.
    good_user = hmac.compare_digest(user.encode(), endpoint.user.encode())
    good_password = hmac.compare_digest(password.encode(), endpoint.password.encode())
    return good_user and good_password


def basic_ok(header, endpoint):
    """True when the Authorization header carries the endpoint's login as HTTP Basic."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:  # bad base64, or not UTF-8
        return False
    return credentials_ok(user, password, endpoint)


class Sessions:
    """The open sessions, ``{uri: [token, user, last use]}``; one idle for longer than the
    SessionTimeout ends as on a BMC. Handlers run in threads: every access holds the lock."""

    def __init__(self, timeout=SESSION_TIMEOUT, clock=time.monotonic):
        self.timeout, self.clock = timeout, clock
        self.lock = threading.Lock()
        self.open = {}
        self.last_id = 0  # also how many sessions were ever opened

    def _expire(self):
        now = self.clock()
        for uri in [u for u, s in self.open.items() if now - s[2] > self.timeout]:
            del self.open[uri]

    def create(self, user):
        """A new session for ``user``: (its URI, its token)."""
        token = secrets.token_hex(16)
        with self.lock:
            self.last_id += 1
            uri = "%s/%d" % (SESSIONS, self.last_id)
            self.open[uri] = [token, user, self.clock()]
        return uri, token

    def check(self, token):
        """True when ``token`` is an open session's (which then counts as used now)."""
        with self.lock:
            self._expire()
            for s in self.open.values():
                if hmac.compare_digest(s[0].encode(), token.encode("utf-8", "replace")):
                    s[2] = self.clock()
                    return True
        return False

    def uris(self):
        with self.lock:
            self._expire()
            return sorted(self.open, key=lambda u: int(u.rsplit("/", 1)[1]))

    def document(self, uri):
        """The session resource at ``uri``, or None when no such session is open."""
        with self.lock:
            s = self.open.get(uri)
        return None if s is None else session(uri, s[1])

    def delete(self, uri):
        with self.lock:
            self.open.pop(uri, None)
