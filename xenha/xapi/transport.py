"""XML-RPC transports with a timeout on every socket operation: HTTP, HTTPS (verified
against the system CAs, a CA file, or pinned SHA-256 fingerprints) and the local unix
socket.

A TCP connect gets at most CONNECT_TIMEOUT: pool hosts share a LAN, where a live
host's kernel answers a SYN in milliseconds (2 s still covers one lost SYN, resent
after 1 s), while a dead host - a master just powered off - would otherwise hold every
call for its whole timeout during a failover."""

import hashlib
import http.client
import socket
import ssl
import xmlrpc.client

from xenha import tls

CONNECT_TIMEOUT = 2.0


def _connect_quickly(address, timeout, source_address=None):
    """``socket.create_connection`` with the connect bounded by CONNECT_TIMEOUT; the
    socket then keeps the call's ``timeout``."""
    sock = socket.create_connection(address, min(timeout, CONNECT_TIMEOUT), source_address)
    sock.settimeout(timeout)
    return sock


class _QuickConnect:
    """Mixed into http.client's connections: their TCP connect is bounded."""

    def __init__(self, host, **kw):
        super().__init__(host, **kw)
        self._create_connection = _connect_quickly


class _HTTPConnection(_QuickConnect, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_QuickConnect, http.client.HTTPSConnection):
    pass


class _Transport(xmlrpc.client.Transport):
    """Reuses one keep-alive connection, like the stdlib's, but builds its own."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def set_timeout(self, timeout):
        """Bound every later socket operation by ``timeout``, the open connection's too."""
        self.timeout = timeout
        conn = self._connection[1] if self._connection else None
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _ = self.get_host_info(host)
        self._connection = host, self.new_connection(chost)
        return self._connection[1]

    def new_connection(self, chost):
        return _HTTPConnection(chost, timeout=self.timeout)


class _PinnedHTTPSConnection(_HTTPSConnection):
    """Accepts a certificate whose SHA-256 is one of ``fingerprints`` (any pool host's)."""

    def __init__(self, host, fingerprints, **kw):
        super().__init__(host, **kw)
        self.fingerprints = fingerprints

    def connect(self):
        super().connect()
        digest = hashlib.sha256(self.sock.getpeercert(binary_form=True)).hexdigest()
        if digest not in self.fingerprints:
            self.close()
            shown = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
            raise ssl.SSLError(
                "certificate of %s (SHA-256 %s) matches no pinned fingerprint; each host "
                "has its own certificate since XCP-ng 8.2 / XenServer 8: pin every host's"
                % (self.host, shown)
            )


class _HTTPSTransport(_Transport):
    def __init__(self, timeout, context, fingerprints):
        super().__init__(timeout)
        self.context = context
        self.fingerprints = fingerprints

    def new_connection(self, chost):
        if self.fingerprints:
            return _PinnedHTTPSConnection(
                chost, self.fingerprints, timeout=self.timeout, context=self.context
            )
        return _HTTPSConnection(chost, timeout=self.timeout, context=self.context)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class _UnixTransport(_Transport):
    def __init__(self, timeout, path):
        super().__init__(timeout)
        self.path = path

    def new_connection(self, chost):
        return _UnixConnection(self.path, self.timeout)


def tls_context(settings):
    """xenha's TLS policy (:mod:`xenha.tls`), or, with pinned fingerprints, no CA check:
    the fingerprint is the check (made by the connection)."""
    if settings.fingerprints and not settings.insecure:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return tls.context(settings.ca_file, settings.insecure, "XAPI")


def endpoint(settings, url, timeout=None):
    """(uri, transport) for the XenAPI SDK's Session; ``url`` None = the local socket;
    ``timeout``: per socket operation (default the settings')."""
    timeout = settings.timeout if timeout is None else timeout
    if url is None:
        return "http://local-xapi/", _UnixTransport(timeout, settings.socket_path)
    if url.startswith("https://"):
        return url, _HTTPSTransport(timeout, tls_context(settings), settings.fingerprints)
    return url, _Transport(timeout)
