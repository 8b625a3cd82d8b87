"""Where and how to reach XAPI; the password comes from a root-only file, never argv."""

from xenha import secrets
from xenha.errors import XenhaError

LOCAL_SOCKET = "/var/lib/xcp/xapi"


class Settings:
    """``url`` None means this host's local xapi socket (``socket_path``), as on dom0."""

    def __init__(
        self,
        url=None,
        user="root",
        password_file=None,
        ca_file=None,
        fingerprint=None,
        insecure=False,
        timeout=10.0,
        socket_path=LOCAL_SOCKET,
    ):
        if url is not None and not url.startswith(("http://", "https://")):
            raise XenhaError("XAPI URL %r must start with http:// or https://" % url)
        if timeout is None or float(timeout) <= 0:
            raise XenhaError("the XAPI timeout must be a positive number of seconds")
        self.url = url
        self.user = user
        self.password_file = password_file
        self.ca_file = ca_file
        self.fingerprints = parse_fingerprints(fingerprint) if fingerprint else ()
        self.insecure = bool(insecure)
        self.timeout = float(timeout)
        self.socket_path = socket_path

    def password(self):
        """The first line of ``password_file`` (empty without one); refuses a file others
        can access."""
        if not self.password_file:
            return ""
        return secrets.read_file(self.password_file, "XAPI password file")


def parse_fingerprints(text):
    """The pinned SHA-256 fingerprints, one per pool host, separated by ``,`` or ``;``:
    since XCP-ng 8.2 / XenServer 8 each host has its own certificate, and a client that
    follows HOST_IS_SLAVE meets the master's."""
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise XenhaError("certificate fingerprint %r lists no fingerprint" % text)
    return tuple(normalize_fingerprint(p) for p in parts)


def normalize_fingerprint(text):
    """SHA-256 fingerprint as lowercase hex without separators."""
    hexdigits = text.replace(":", "").replace(" ", "").lower()
    if len(hexdigits) != 64 or any(c not in "0123456789abcdef" for c in hexdigits):
        raise XenhaError("certificate fingerprint %r is not a SHA-256 hex digest" % text)
    return hexdigits
