"""XAPI endpoints: one per host, over HTTP, HTTPS and optionally a unix socket, each
speaking XML-RPC and JSON-RPC as xapi does (wire.py).

A powered-off host drops connections without answering; an isolated host (or a call
that hangs) keeps the connection open and silent, as a black-holed network does - on
the network only: its unix socket is local, and answers - and so do the calls it makes
to other hosts' endpoints. While
a host's xapi restarts, its endpoints do not listen: connections are refused, as after
xe-toolstack-restart (and a call hanging in the xapi that stopped is cut off).
"""

import errno
import os
import socket
import socketserver
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .netns import entered
from .rpc import Hang
from .wire import REFUSED, Malformed, read

HANG_SECONDS = 600.0
# What Http_svr answers a body it cannot parse as a call (http_svr.ml
# response_internal_error), before it closes the connection.
UNPARSABLE = b"<html><body><h1>HTTP 500 internal server error</h1></body></html>"
# What api_server.ml's callbacks add to an answer (not to one their Server_error
# handler writes: a call refused before dispatch).
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "X-Requested-With"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's transport expects

    def do_POST(self):
        endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        host = endpoint.host
        with endpoint.pool.lock:
            endpoint.pool.tick()  # a restart that is due happens before this call
        if not host.listening:
            self.close_connection = True
            return
        generation = host.xapi_generation
        try:
            if self._cut_off(host):
                raise Hang("isolated")
            wire, method, params = read(urllib.parse.urlsplit(self.path).path, body)
            response = endpoint.dispatcher.handle(host, method, params, wire)
        except Malformed:
            self._send(500, "text/html", UNPARSABLE, close=True)
            return
        except Hang:
            deadline = time.monotonic() + HANG_SECONDS
            while host.xapi_generation == generation and time.monotonic() < deadline:
                if endpoint.pool.stopping.wait(0.2):
                    break
            self.close_connection = True
            return
        headers = CORS if response.origin != REFUSED else {}
        self._send(200, wire.content_type, wire.answer(response), headers=headers)

    def _send(self, status, content_type, body, close=False, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _cut_off(self, host):
        """Whether this call crosses a cut network: to an isolated host's TCP endpoint, or
        from an isolated host (known by its source address, as lab hosts call from
        theirs) to another's. The unix socket is local: never cut."""
        if isinstance(self.server, UnixEndpoint):
            return False
        caller = self.server.endpoint.pool.by_address(self.client_address[0])
        return host.isolated or (caller is not None and caller is not host and caller.isolated)

    def address_string(self):
        return str(self.client_address[0]) if self.client_address else "unix"

    def log_message(self, format, *args):
        pass


class TCPEndpoint(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, endpoint, address, port, ssl_context=None):
        self.endpoint = endpoint
        self.ssl_context = ssl_context
        super().__init__((address, port), Handler)

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except OSError:
                return  # failed handshake: the client sees the TLS error
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client that goes away mid-call is not our problem


class UnixEndpoint(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, endpoint, path):
        self.endpoint = endpoint
        if os.path.exists(path):
            os.unlink(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        super().__init__(path, Handler)

    def handle_error(self, request, client_address):
        pass


class Endpoint:
    """What one host serves: its xapi behind its listeners."""

    def __init__(self, pool, dispatcher, host):
        self.pool, self.dispatcher, self.host = pool, dispatcher, host
        self.tcp = []  # (scheme, ssl context, server)
        self.netns_id = None
        self.unix_path = None
        self.unix = None
        self.closed = []  # while xapi restarts: (scheme, port, ssl context) to listen on again
        self.lock = threading.RLock()

    def listen_unix(self, path):
        self.unix_path = path
        self.unix = UnixEndpoint(self, path)
        return self.unix

    def set_listening(self, listening):
        """Close every listener (xapi stopped: connections refused) or open them again."""
        with self.lock:
            if not listening and not self.closed and (self.tcp or self.unix):
                old, self.tcp = self.tcp, []
                self.closed = [(scheme, srv.server_address[1], ctx) for scheme, ctx, srv in old]
                for _, _, srv in old:
                    srv.shutdown()
                    srv.server_close()
                if self.unix is not None:
                    self.unix.shutdown()
                    self.unix.server_close()
                    self.unix = None
                    if os.path.exists(self.unix_path):
                        os.unlink(self.unix_path)
                return True
            if listening and self.closed:
                while self.closed:  # an OSError leaves the rest for the next try
                    scheme, port, ctx = self.closed[0]
                    _start(self.listen(scheme, port, ctx))
                    self.closed.pop(0)
                if self.unix_path and self.unix is None:
                    _start(self.listen_unix(self.unix_path))
                return True
            return False

    def listen(self, scheme, port, ssl_context):
        with entered(self.host.netns):
            srv = TCPEndpoint(self, self.host.address, port, ssl_context)
        self.tcp.append((scheme, ssl_context, srv))
        if self.host.netns:
            self.netns_id = _inode(self.host.netns)
        return srv

    def relisten_if_moved(self):
        """The lab recreated the host's namespace (a reboot): listen again inside it."""
        with self.lock:
            if not self.host.netns or _inode(self.host.netns) == self.netns_id:
                return False
            old, self.tcp = self.tcp, []
            for scheme, ctx, srv in old:
                srv.shutdown()
                srv.server_close()
                _start(self.listen(scheme, srv.server_address[1], ctx))
            return True


def _inode(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _start(srv):
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()


def _bind_all(endpoints, scheme, port, contexts, tries=20):
    """Listen on every host's address with one common port (the HOST_IS_SLAVE answer
    names an address only, so clients keep the port they were given), each with its own
    TLS context (``contexts``: host name -> context; None for plain HTTP); port 0: the
    first free one."""
    for _ in range(tries if port == 0 else 1):
        servers = []
        try:
            p = port
            for ep in endpoints:
                ctx = contexts[ep.host.name] if contexts is not None else None
                servers.append(ep.listen(scheme, p, ctx))
                p = servers[0].server_address[1]
            return p, servers
        except OSError as e:
            for ep in endpoints:
                ep.tcp = [t for t in ep.tcp if t[2] not in servers]
            for s in servers:
                s.server_close()
            if e.errno != errno.EADDRINUSE or port != 0:
                raise
    raise OSError(errno.EADDRINUSE, "no common free port for the simulated hosts")


def serve(pool, dispatcher, ssl_contexts=None, socket_paths=None, ports=(0, 0)):
    """Start the listeners (HTTPS with each host's own context, ``ssl_contexts``: host
    name -> context); return ({host name: {"http": url, "https": url, "socket": path}},
    {host name: Endpoint})."""
    endpoints = [Endpoint(pool, dispatcher, h) for h in pool.hosts]
    urls = {ep.host.name: {} for ep in endpoints}
    started = []
    schemes = [("http", ports[0], None)]
    if ssl_contexts:
        schemes.append(("https", ports[1], ssl_contexts))
    for scheme, port, ctx in schemes:
        port, servers = _bind_all(endpoints, scheme, port, ctx)
        for ep in endpoints:
            urls[ep.host.name][scheme] = "%s://%s:%d/" % (scheme, ep.host.address, port)
        started += servers
    for ep in endpoints:
        path = (socket_paths or {}).get(ep.host.name)
        if path:
            started.append(ep.listen_unix(path))
            urls[ep.host.name]["socket"] = path
    for srv in started:
        _start(srv)
    return urls, {ep.host.name: ep for ep in endpoints}


def follow_xapi_state(pool, endpoints, interval=0.05):
    """Keep each host's listeners closed while its xapi is down (a thread; closing waits
    for the listener's loop) and open them as soon as it starts (at once)."""

    def listen(host):
        try:
            endpoints[host.name].set_listening(True)
        except OSError:
            pass  # the watcher tries again

    pool.on_listen = listen

    def loop():
        while not pool.stopping.wait(interval):
            for ep in endpoints.values():
                try:
                    ep.set_listening(ep.host.xapi != "down")
                except OSError:
                    pass  # a namespace gone: power_on listens again once it is back

    threading.Thread(target=loop, daemon=True).start()
