"""An HP iLO speaking RIBCL over TLS (the raw protocol of iLO 2, also spoken by iLO 3/4) for
one rack machine: what fence-agents' fence_ilo and python-hpilo use.

The client sends ``<?xml version="1.0"?>`` and the iLO answers with a greeting;
then RIBCL commands arrive as a stream (fence_ilo sends them piece by piece on
one connection), each answered with its own XML document as soon as it is
complete. HTTP requests (python-hpilo's protocol probe) get a 404, as from an iLO 2.

Run: ``python -m xenha.lab.power.ribcl --rack FILE --machine NAME --port N --cert PEM
--key PEM --user U --password-file F`` (:mod:`xenha.lab.power.endpoint`).
"""

import hmac
import socketserver
import ssl
import sys
import xml.etree.ElementTree as ET

from xenha.lab.power.endpoint import Endpoint, serve
from xenha.lab.power.rack import OFF, ON

VERSION = "2.22"
CONTAINERS = {"RIBCL", "LOGIN", "SERVER_INFO", "RIB_INFO", "USER_INFO"}


def document(status=0, message="No error", body=""):
    return (
        '<?xml version="1.0"?>\r\n<RIBCL VERSION="%s">\r\n<RESPONSE STATUS="0x%04X" '
        "MESSAGE='%s'/>\r\n%s</RIBCL>\r\n" % (VERSION, status, message, body)
    ).encode("ascii")


class Session:
    """One connection's RIBCL stream: feed bytes, get the answers to send."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.greeted = False
        self.pending = b""
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.logged_in = False
        self.closed = False

    def feed(self, data):
        out = []
        if not self.greeted:
            self.pending += data
            if self.pending.startswith((b"POST ", b"GET ")):
                return self._http()
            end = self.pending.find(b"?>")
            if end < 0:
                return out
            self.greeted = True
            out.append(document())
            data, self.pending = self.pending[end + 2 :], b""
        try:
            self.parser.feed(data)
            events = list(self.parser.read_events())
        except ET.ParseError:
            self.closed = True
            return out + [document(0x0001, "Syntax error")]
        for event, elem in events:
            out += self.handle(event, elem)
            if self.closed:
                break
        return out

    def _http(self):
        """Answer 404 once the whole request is in (closing earlier would reset the
        connection and lose the answer)."""
        head, sep, body = self.pending.partition(b"\r\n\r\n")
        if not sep:
            return []
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        if len(body) < length:
            return []
        self.closed = True
        return [b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"]

    def handle(self, event, elem):
        tag = elem.tag.upper()
        if event == "start" and tag == "LOGIN":
            user, password = elem.get("USER_LOGIN", ""), elem.get("PASSWORD", "")
            self.logged_in = user == self.endpoint.user and hmac.compare_digest(
                password, self.endpoint.password
            )
            if not self.logged_in:
                self.closed = True
                return [document(0x005F, "Login credentials rejected.")]
            return []
        if event != "end" or tag in CONTAINERS:
            if event == "end" and tag == "RIBCL":
                self.closed = True
            return []
        if not self.logged_in:
            self.closed = True
            return [document(0x005F, "Login credentials rejected.")]
        return [self.command(tag, elem)]

    def command(self, tag, elem):
        rack, machine = self.endpoint.rack, self.endpoint.machine
        state = rack.state("machines", machine)
        if tag == "GET_HOST_POWER_STATUS":
            return document(body='<GET_HOST_POWER\r\n HOST_POWER="%s"\r\n/>\r\n' % state.upper())
        if tag == "GET_FW_VERSION":
            # One attribute per line, as real iLOs print it (fence_ilo relies on that).
            return document(
                body='<GET_FW_VERSION\r\n FIRMWARE_VERSION = "1.94"\r\n FIRMWARE_DATE = '
                '"Jun 01 2018"\r\n MANAGEMENT_PROCESSOR = "iLO3"\r\n LICENSE_TYPE = '
                '"Advanced"\r\n />\r\n'
            )
        if tag == "SET_HOST_POWER":
            wanted = elem.get("HOST_POWER", "").lower()
            if wanted not in ("yes", "no", "on", "off"):
                return document(0x0001, "Syntax error")
            rack.command("machines", machine, ON if wanted in ("yes", "on") else OFF)
            return document()
        if tag == "HOLD_PWR_BTN":
            toggle = elem.get("TOGGLE", "").lower() == "yes"
            rack.command("machines", machine, ON if toggle and state == OFF else OFF)
            return document()
        if tag == "PRESS_PWR_BTN":
            rack.command("machines", machine, ON if state == OFF else OFF)
            return document()
        if tag in ("RESET_SERVER", "COLD_BOOT_SERVER"):
            rack.command("machines", machine, OFF)
            rack.command("machines", machine, ON)
            return document()
        return document(0x0001, "Syntax error: %s not supported" % tag)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.server.endpoint.tls.wrap_socket(self.request, server_side=True)
        conn.settimeout(30)
        session = Session(self.server.endpoint)
        try:
            while not session.closed:
                data = conn.recv(4096)
                if not data:
                    break
                for answer in session.feed(data):
                    conn.sendall(answer)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv=None):
    endpoint = Endpoint(argv, __doc__, user="Administrator", tls=True)
    server = Server((endpoint.address, endpoint.port), Handler)
    server.endpoint = endpoint  # each connection does its own TLS handshake
    return serve(server)


if __name__ == "__main__":
    sys.exit(main())
