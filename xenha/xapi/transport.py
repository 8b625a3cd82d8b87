"""XML-RPC transports with a timeout on every socket operation: HTTP, HTTPS (verified
against the system CAs, a CA file, or a pinned SHA-256 fingerprint) and the local unix
socket."""

import hashlib
import http.client
import socket
import ssl
import xmlrpc.client

from xenha.errors import XenhaError

from .errors import warn


class _Transport(xmlrpc.client.Transport):
    """Reuses one keep-alive connection, like the stdlib's, but builds its own."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _ = self.get_host_info(host)
        self._connection = host, self.new_connection(chost)
        return self._connection[1]

    def new_connection(self, chost):
        return http.client.HTTPConnection(chost, timeout=self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, fingerprint, **kw):
        super().__init__(host, **kw)
        self.fingerprint = fingerprint

    def connect(self):
        super().connect()
        der = self.sock.getpeercert(binary_form=True)
        if hashlib.sha256(der).hexdigest() != self.fingerprint:
            self.close()
            raise ssl.SSLError(
                "certificate of %s does not match the pinned fingerprint" % self.host
            )


class _HTTPSTransport(_Transport):
    def __init__(self, timeout, context, fingerprint):
        super().__init__(timeout)
        self.context = context
        self.fingerprint = fingerprint

    def new_connection(self, chost):
        if self.fingerprint:
            return _PinnedHTTPSConnection(
                chost, self.fingerprint, timeout=self.timeout, context=self.context
            )
        return http.client.HTTPSConnection(chost, timeout=self.timeout, context=self.context)


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
    """The client TLS context: verification on unless ``insecure`` (logged)."""
    if settings.insecure:
        warn("TLS certificate verification of XAPI is disabled (insecure)")
        return ssl._create_unverified_context()
    if settings.fingerprint:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the pinned fingerprint is the check
        return ctx
    try:
        return ssl.create_default_context(cafile=settings.ca_file)
    except (OSError, ssl.SSLError) as e:
        raise XenhaError("cannot load CA file %s: %s" % (settings.ca_file, e)) from None


def endpoint(settings, url):
    """(uri, transport) for the XenAPI SDK's Session; ``url`` None = the local socket."""
    if url is None:
        return "http://local-xapi/", _UnixTransport(settings.timeout, settings.socket_path)
    if url.startswith("https://"):
        return url, _HTTPSTransport(settings.timeout, tls_context(settings), settings.fingerprint)
    return url, _Transport(settings.timeout)
