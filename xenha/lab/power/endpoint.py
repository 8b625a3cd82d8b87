"""The command line every lab management endpoint takes, and how it starts serving.

An endpoint (``ipmi_bmc``, ``ribcl``, ``redfish``) switches one rack machine and
accepts one login; its starters (``testing``, ``bmcs``) run ``python -m
xenha.lab.power.<module> --rack FILE --machine NAME --port N [--address IP]
[--cert PEM --key PEM] --user U --password-file F`` (the password never on the
command line) and wait for the line ``listening``.
"""

import argparse
import ssl

from xenha.lab.power.rack import Rack


class Endpoint:
    """The parsed command line: ``rack``, ``machine``, ``address``, ``port``, ``user``,
    ``password`` and, for a TLS endpoint, ``tls``: a server context with its certificate."""

    def __init__(self, argv, doc, user, tls=False):
        p = argparse.ArgumentParser(description=doc.splitlines()[0])
        p.add_argument("--rack", required=True)
        p.add_argument("--machine", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--address", default="127.0.0.1")
        if tls:
            p.add_argument("--cert", required=True)
            p.add_argument("--key", required=True)
        p.add_argument("--user", default=user)
        p.add_argument("--password-file", required=True)
        args = p.parse_args(argv)
        self.rack = Rack(args.rack)
        self.machine = args.machine
        self.address, self.port = args.address, args.port
        self.user = args.user
        with open(args.password_file) as f:
            self.password = f.readline().rstrip("\n")
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)


def serve(server):
    """Say ``listening`` (what the starters wait for), then serve until stopped."""
    print("listening", flush=True)
    server.serve_forever()
    return 0
