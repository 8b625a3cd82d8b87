"""``list_domains`` for one simulated host: the domains the simulator's hypervisor truth
runs there, printed as xen-api's list_domains prints them (ocaml/xenopsd/list_domains/
list_domains.ml and table.ml: a header ``id | uuid | state``, every cell right-aligned
to its column's width, cells joined by ``" | "``; state letters D S P B R H, spaces
where unset).

    list_domains.py --host host2 --control http://127.0.0.1:PORT/
    list_domains.py --host host2 --control unix:/var/lib/xenha-lab/xapi/control.sock

The product runs ``list_domains`` (xenha.hypervisor); in the lab and in the agent tests
a per-host wrapper (:func:`write_wrapper`) is what it finds on that host's PATH, so the
agents' code path is the one of a dom0 and only what answers differs. A host the
simulator shows powered off, or a simulator that does not answer, makes it fail (exit 2,
as the real tool on an uncaught exception, nothing on stdout): "cannot tell", never
"no domains".

Standard library only, and no import of xenha: the wrapper runs it as a script with
``python -I -S`` (no site, nor this directory on sys.path), since an agent's monitor runs
it every time.
"""

import http.client
import os
import socket
import sys
import xmlrpc.client

TIMEOUT = 3.0  # seconds for the simulator to answer


def table(rows):
    """list_domains' output for ``rows`` ([domid, uuid, state] each, as strings)."""
    rows = [["id", "uuid", "state"]] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "".join(" | ".join(c.rjust(w) for c, w in zip(r, widths)) + "\n" for r in rows)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class _Transport(xmlrpc.client.Transport):
    """HTTP, or HTTP over a unix socket (``unix:PATH``), with a timeout."""

    def __init__(self, socket_path=None, timeout=TIMEOUT):
        xmlrpc.client.Transport.__init__(self)
        self.socket_path, self.timeout = socket_path, timeout

    def make_connection(self, host):
        if self.socket_path:
            return _UnixConnection(self.socket_path, self.timeout)
        conn = xmlrpc.client.Transport.make_connection(self, host)
        conn.timeout = self.timeout
        return conn


def control(address, timeout=TIMEOUT):
    """The simulator's ``sim.*`` control API at ``address`` (a URL or ``unix:PATH``)."""
    if address.startswith("unix:"):
        transport = _Transport(address[len("unix:") :], timeout)
        return xmlrpc.client.ServerProxy("http://localhost/", transport, allow_none=True).sim
    return xmlrpc.client.ServerProxy(address, _Transport(None, timeout), allow_none=True).sim


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    opts = dict(zip(argv[::2], argv[1::2]))
    if len(argv) % 2 or set(opts) != {"--host", "--control"}:
        sys.stderr.write("usage: list_domains.py --host HOST --control URL|unix:PATH\n")
        return 2
    try:
        domains = control(opts["--control"]).domains(opts["--host"])
    except (OSError, xmlrpc.client.Error, http.client.HTTPException) as e:
        sys.stderr.write("Fatal error: the simulated hypervisor does not answer: %s\n" % e)
        return 2
    rows = [[str(d["domid"]), d["uuid"], d["state"]] for d in domains]
    sys.stdout.write(table(rows))
    return 0


def write_wrapper(directory, host, address, python=sys.executable):
    """Write ``directory/list_domains``: this program for ``host``, asking the simulator
    at ``address``; return its path. Put ``directory`` first on that host's PATH."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "list_domains")
    with open(path, "w") as f:
        f.write(
            "#!/bin/sh\n# %s's hypervisor: the XAPI simulator's truth\n"
            'exec "%s" -I -S "%s" --host "%s" --control "%s"\n'
            % (host, python, os.path.abspath(__file__), host, address)
        )
    os.chmod(path, 0o755)
    return path


if __name__ == "__main__":
    sys.exit(main())
