"""``list_domains`` for one simulated host: the domains the simulator's hypervisor truth
runs there, printed as xen-api's list_domains prints them (ocaml/xenopsd/list_domains/
list_domains.ml and table.ml: a header ``id | uuid | state``, every cell right-aligned
to its column's width, cells joined by ``" | "``; state letters D S P B R H, spaces
where unset).

    list_domains.py --host host2 --control http://127.0.0.1:PORT/
    list_domains.py --host host2 --control unix:/var/lib/xenha-lab/xapi/control.sock

It asks the simulator's control server (``GET /list_domains/<host>``, the text of
``sim.domains(host)``) and prints the answer.

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

import os
import socket
import sys

TIMEOUT = 3.0  # seconds for the simulator to answer


def table(rows):
    """list_domains' output for ``rows`` ([domid, uuid, state] each, as strings)."""
    rows = [["id", "uuid", "state"]] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "".join(" | ".join(c.rjust(w) for c, w in zip(r, widths)) + "\n" for r in rows)


def fetch(address, host, timeout=TIMEOUT):
    """(HTTP status, body) of ``GET /list_domains/<host>`` from the simulator's control
    server at ``address`` (``http://ADDR:PORT/`` or ``unix:PATH``). One HTTP/1.0 request
    on a socket, by hand: http.client and xmlrpc.client take longer to import than a
    dom0's list_domains takes to run, and this runs in every monitor."""
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = address[len("unix:") :]
    else:
        hostport = address.split("://", 1)[-1].split("/", 1)[0]
        name, _, port = hostport.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (name, int(port))
    with sock:
        sock.settimeout(timeout)
        sock.connect(target)
        sock.sendall(("GET /list_domains/%s HTTP/1.0\r\nHost: sim\r\n\r\n" % host).encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[1].isdigit():
        raise OSError("no HTTP answer from the simulator")
    return int(status[1]), body.decode()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    opts = dict(zip(argv[::2], argv[1::2]))
    if len(argv) % 2 or set(opts) != {"--host", "--control"}:
        sys.stderr.write("usage: list_domains.py --host HOST --control URL|unix:PATH\n")
        return 2
    try:
        status, text = fetch(opts["--control"], opts["--host"])
    except (OSError, ValueError) as e:
        status, text = None, str(e)
    if status != 200:
        sys.stderr.write(
            "Fatal error: the simulated hypervisor does not answer: %s\n" % text.strip()
        )
        return 2
    sys.stdout.write(text)
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
