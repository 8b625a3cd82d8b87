"""XML-RPC endpoints: one per host, over HTTP, HTTPS and optionally a unix socket.

A powered-off host drops connections without answering; an isolated host (or a call
that hangs) keeps the connection open and silent, as a black-holed network does.
"""

import errno
import os
import socket
import socketserver
import threading
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .rpc import Hang

HANG_SECONDS = 600.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's transport expects

    def do_POST(self):
        endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        host = endpoint.host
        if not host.up:
            self.close_connection = True
            return
        try:
            if host.isolated:
                raise Hang("isolated")
            params, method = xmlrpc.client.loads(body)
            response = endpoint.dispatcher.handle(host, method, params)
        except Hang:
            endpoint.pool.stopping.wait(HANG_SECONDS)
            self.close_connection = True
            return
        out = xmlrpc.client.dumps((response,), methodresponse=True, allow_none=True)
        out = out.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

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
        self.servers = []


def _bind_all(endpoints, make, tries=20):
    """Listen on every host's address with one common port (the HOST_IS_SLAVE answer
    names an address only, so clients keep the port they were given)."""
    for _ in range(tries):
        servers = []
        try:
            first = make(endpoints[0], 0)
            servers.append(first)
            port = first.server_address[1]
            for ep in endpoints[1:]:
                servers.append(make(ep, port))
            return port, servers
        except OSError as e:
            for s in servers:
                s.server_close()
            if e.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no common free port for the simulated hosts")


def serve(pool, dispatcher, ssl_context=None, socket_paths=None):
    """Start the listeners; return ({host name: {"http": url, "https": url, "socket":
    path}}, [servers])."""
    endpoints = [Endpoint(pool, dispatcher, h) for h in pool.hosts]
    urls = {ep.host.name: {} for ep in endpoints}
    all_servers = []
    schemes = [("http", None)] + ([("https", ssl_context)] if ssl_context else [])
    for scheme, ctx in schemes:
        port, servers = _bind_all(
            endpoints, lambda ep, p, ctx=ctx: TCPEndpoint(ep, ep.host.address, p, ctx)
        )
        for ep, srv in zip(endpoints, servers):
            urls[ep.host.name][scheme] = "%s://%s:%d/" % (scheme, ep.host.address, port)
            ep.servers.append(srv)
        all_servers += servers
    for ep in endpoints:
        path = (socket_paths or {}).get(ep.host.name)
        if path:
            srv = UnixEndpoint(ep, path)
            urls[ep.host.name]["socket"] = path
            all_servers.append(srv)
    for srv in all_servers:
        threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        ).start()
    return urls, all_servers
