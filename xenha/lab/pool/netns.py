"""Network namespaces for lab hosts: a host's endpoint listens inside its namespace, and
reachability between hosts is probed over the lab network itself, so that a cut link or
a blackhole route really separates them."""

import contextlib
import ctypes
import http.client
import os
import socket
import threading

from .wire import Malformed

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def entered(path):
    """Run the block with this thread in the network namespace at ``path`` (None: stay).
    Sockets created inside stay in that namespace."""
    if not path:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


class Prober:
    """From each host's namespace, try to connect to every other host's endpoint every
    ``interval`` seconds; ``reachable(a, b)`` is the last result (False until probed)."""

    def __init__(self, hosts, port, interval=0.5, stopping=None):
        self.hosts, self.port, self.interval = hosts, port, interval
        self.stopping = stopping or threading.Event()
        self.results = {}

    def start(self):
        """Start probing; return once every pair has been probed once."""
        pairs = [(a, b) for a in self.hosts for b in self.hosts if a is not b]
        for a, b in pairs:
            threading.Thread(target=self._loop, args=(a, b), daemon=True).start()
        while len(self.results) < len(pairs) and not self.stopping.wait(0.05):
            pass

    def reachable(self, a, b):
        return self.results.get((a.name, b.name), False)

    def _loop(self, a, b):
        while not self.stopping.is_set():
            self.results[(a.name, b.name)] = self._probe(a, b)
            self.stopping.wait(self.interval)

    def _probe(self, a, b):
        try:
            with entered(a.netns):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            with sock:
                sock.settimeout(self.interval)
                sock.connect((b.address, self.port))
            return True
        except OSError:
            return False


def relay(host, master, port, wire, method, params, timeout=600.0):
    """A slave's xapi passes a call to its master over the lab network, from inside the
    slave's namespace, in the protocol the call came in (api_server.ml ``forward``);
    return the master's Response. OSError: no answer."""
    with entered(host.netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn = http.client.HTTPConnection(master.address, port, timeout=timeout)
    try:
        sock.settimeout(timeout)
        sock.connect((master.address, port))
        conn.sock = sock
        body = wire.call(method, params)
        conn.request("POST", wire.path, body, {"Content-Type": wire.content_type})
        response = conn.getresponse()
        if response.status != 200:
            raise OSError("master answered HTTP %d" % response.status)
        return wire.parse_answer(response.read())
    except (http.client.HTTPException, Malformed) as e:
        raise OSError(str(e)) from None
    finally:
        conn.close()
