"""A Redfish service (HTTPS, Basic auth) for one rack machine: /redfish/v1, one ComputerSystem
with PowerState and the ComputerSystem.Reset action — what fence-agents' fence_redfish and our
backend use.

Run: ``python -m xenha.lab.power.redfish --rack FILE --machine NAME --port N --cert PEM
--key PEM --user U --password-file F`` (:mod:`xenha.lab.power.endpoint`).
"""

import base64
import hmac
import http.server
import json
import sys

from xenha.lab.power.endpoint import Endpoint, serve
from xenha.lab.power.rack import OFF, ON

SYSTEM = "/redfish/v1/Systems/1"
RESET = SYSTEM + "/Actions/ComputerSystem.Reset"
RESET_TYPES = {
    "On": [ON],
    "ForceOff": [OFF],
    "GracefulShutdown": [OFF],
    "ForceRestart": [OFF, ON],
    "PowerCycle": [OFF, ON],
}


def documents(state):
    return {
        "/redfish/v1": {
            "@odata.id": "/redfish/v1",
            "RedfishVersion": "1.6.0",
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
        },
        "/redfish/v1/Systems": {
            "@odata.id": "/redfish/v1/Systems",
            "Members@odata.count": 1,
            "Members": [{"@odata.id": SYSTEM}],
        },
        SYSTEM: {
            "@odata.id": SYSTEM,
            "Id": "1",
            "PowerState": "On" if state == ON else "Off",
            "Actions": {
                "#ComputerSystem.Reset": {
                    "target": RESET,
                    "ResetType@Redfish.AllowableValues": sorted(RESET_TYPES),
                }
            },
        },
    }


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "xenha-lab-redfish"

    def log_message(self, fmt, *args):
        """Quiet: the tests read the rack, not the access log."""

    def _reply(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self):
        endpoint = self.server.endpoint
        credentials = "%s:%s" % (endpoint.user, endpoint.password)
        expected = "Basic " + base64.b64encode(credentials.encode()).decode()
        if hmac.compare_digest(self.headers.get("Authorization", ""), expected):
            return True
        self._reply(401, {"error": {"message": "authentication required"}})
        return False

    def do_GET(self):
        if not self._authorized():
            return
        path = self.path.rstrip("/") or "/"
        endpoint = self.server.endpoint
        doc = documents(endpoint.rack.state("machines", endpoint.machine)).get(path)
        self._reply(200 if doc else 404, doc or {"error": {"message": "not found"}})

    def do_POST(self):
        if not self._authorized():
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._reply(400, {"error": {"message": "malformed JSON"}})
        if self.path != RESET:
            return self._reply(404, {"error": {"message": "not found"}})
        states = RESET_TYPES.get(body.get("ResetType"))
        if states is None:
            return self._reply(400, {"error": {"message": "unsupported ResetType"}})
        for state in states:
            self.server.endpoint.rack.command("machines", self.server.endpoint.machine, state)
        self._reply(204)


def main(argv=None):
    endpoint = Endpoint(argv, __doc__, user="admin", tls=True)
    server = http.server.ThreadingHTTPServer((endpoint.address, endpoint.port), Handler)
    server.endpoint = endpoint
    server.socket = endpoint.tls.wrap_socket(server.socket, server_side=True)
    return serve(server)


if __name__ == "__main__":
    sys.exit(main())
