"""A Redfish service (HTTPS) for one rack machine, speaking the protocol of DMTF DSP0266 where
real iLO and iDRAC do and fence agents depend on it: the unauthenticated service root, the
SessionService (login, X-Auth-Token, logout), HTTP Basic beside it, one ComputerSystem with
PowerState and ComputerSystem.Reset, and Redfish's headers, status codes and error bodies.

DSP0266 clauses are cited by their titles (release 1.20, the one DMTF's
Redfish-Protocol-Validator follows). The Sessions collection lists the open sessions and
the SessionService's ``Oem.XenhaLab.SessionsOpened`` counts logins, so tests see a client
that never logs out, or never logs in.

Run: ``python -m xenha.lab.power.redfish --rack FILE --machine NAME --port N --cert PEM
--key PEM --user U --password-file F`` (:mod:`xenha.lab.power.endpoint`).
"""

import hashlib
import http.server
import json
import sys
import urllib.parse

from xenha.lab.power import redfish_auth
from xenha.lab.power.endpoint import Endpoint, serve
from xenha.lab.power.redfish_docs import (
    METADATA,
    METADATA_XML,
    ODATA,
    RESET,
    ROOT,
    SESSIONS,
    documents,
    error,
    reset_states,
)

# DSP0266 "Service root request": these are readable without authentication; the rest not.
PUBLIC = {"/redfish", ROOT, ODATA, METADATA}
READ = ("GET", "HEAD")


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "xenha-lab-redfish"
    # Keep-alive, as BMCs serve clients (DSP0266 "Protocol details": HTTP/1.1).
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        """Quiet: the tests read the rack, not the access log."""

    # -- replies

    def _reply(self, code, body=None, headers=(), content_type="application/json"):
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        # DSP0266 "Response headers": OData-Version 4.0 on every response, the media type
        # with its charset, and no caching of what can change at any time.
        self.send_header("OData-Version", "4.0")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(data)))
        if data:
            self.send_header("Content-Type", content_type + ";charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _fail(self, code, message, headers=()):
        self._reply(code, error(code, message), headers)

    # -- dispatch

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # DSP0266 "Redfish-defined URIs": /redfish/v1 and /redfish/v1/ are the service root.
        path = ROOT if url.path in ("/redfish/v1", ROOT) else url.path.rstrip("/") or "/"
        if path == SESSIONS + "/Members":
            path = SESSIONS  # DSP0266 "POST (create)": a collection's Members is the collection
        # DSP0266 "Request headers": an OData-Version other than 4.0 is refused with 412.
        version = self.headers.get("OData-Version")
        if version is not None and version != "4.0":
            return self._fail(412, "unsupported OData-Version %s" % version)
        if path == SESSIONS and self.command == "POST":
            return self._login()  # DSP0266 "Session login": the one write without credentials
        if path not in PUBLIC and not self._authorized():
            return
        endpoint, sessions = self.server.endpoint, self.server.sessions
        state = endpoint.rack.state("machines", endpoint.machine)
        docs = documents(state, sessions.uris(), sessions.last_id, endpoint.user)
        doc = docs[path] if path in docs else sessions.document(path)
        if doc is None:
            return self._fail(404, "no resource %s" % path)
        allowed = self._allowed(path)
        if self.command not in allowed:
            # DSP0266 "Response headers": Allow on 405 names what the resource takes.
            return self._fail(405, "%s not allowed here" % self.command, [self._allow(allowed)])
        if self.command in READ:
            return self._read(path, doc, allowed)
        if self.command == "DELETE":
            return self._logout(path)
        return self._reset()

    @staticmethod
    def _allowed(path):
        if path.startswith(SESSIONS + "/"):
            return READ + ("DELETE",)
        if path == SESSIONS:
            return READ + ("POST",)
        if path == RESET:
            return ("POST",)
        return READ

    @staticmethod
    def _allow(methods):
        return ("Allow", ", ".join(methods))

    def _read(self, path, doc, allowed):
        if path == METADATA:
            return self._reply(200, METADATA_XML, [self._allow(allowed)], "application/xml")
        data = json.dumps(doc).encode()
        # DSP0266 "ETags": a resource's ETag changes when it does (PowerState included).
        etag = 'W/"%s"' % hashlib.sha256(data).hexdigest()[:16]
        headers = [self._allow(allowed), ("ETag", etag)] + self._described_by(doc)
        if etag in self.headers.get("If-None-Match", ""):
            return self._reply(304, None, headers)
        self._reply(200, data, headers)

    @staticmethod
    def _described_by(doc):
        """DSP0266 "Link header": the JSON schema of the resource's @odata.type."""
        if "@odata.type" not in doc:
            return []
        schema = doc["@odata.type"].lstrip("#").rsplit(".", 1)[0]
        return [("Link", "<https://redfish.dmtf.org/schemas/v1/%s.json>; rel=describedby" % schema)]

    # -- authentication (DSP0266 "Authentication")

    def _authorized(self):
        """True for a valid X-Auth-Token or Basic credentials; else answer 401 and say how
        to authenticate (DSP0266 "Response headers": WWW-Authenticate on 401)."""
        token = self.headers.get("X-Auth-Token")
        if token is not None:
            if self.server.sessions.check(token):
                return True
        elif redfish_auth.basic_ok(self.headers.get("Authorization"), self.server.endpoint):
            return True
        self._fail(401, "no valid session or credentials", [redfish_auth.CHALLENGE])
        return False

    def _json_body(self):
        try:
            body = json.loads(self.body or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _login(self):
        """DSP0266 "Session login": 201, the token in X-Auth-Token, the session's URI in
        Location, the session resource as the body."""
        body = self._json_body()
        if body is None or not {"UserName", "Password"} <= set(body):
            return self._fail(400, "a session needs UserName and Password")
        endpoint = self.server.endpoint
        if not redfish_auth.credentials_ok(body["UserName"], body["Password"], endpoint):
            # DSP0266 "Authentication failure requirements": say nothing of which was wrong.
            return self._fail(401, "login refused", [redfish_auth.CHALLENGE])
        uri, token = self.server.sessions.create(body["UserName"])
        doc = self.server.sessions.document(uri)
        self._reply(201, doc, [("X-Auth-Token", token), ("Location", uri)])

    def _logout(self, uri):
        """DSP0266 "Session termination or logout": DELETE of the session ends it."""
        self.server.sessions.delete(uri)
        self._reply(204)

    def _reset(self):
        body = self._json_body()
        if body is None:
            return self._fail(400, "malformed JSON")
        states = reset_states(body.get("ResetType"))
        if states is None:
            return self._fail(400, "unsupported ResetType %r" % body.get("ResetType"))
        endpoint = self.server.endpoint
        for state in states:
            endpoint.rack.command("machines", endpoint.machine, state)
        self._reply(204)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


def main(argv=None):
    endpoint = Endpoint(argv, __doc__, user="admin", tls=True)
    server = http.server.ThreadingHTTPServer((endpoint.address, endpoint.port), Handler)
    server.endpoint = endpoint
    server.sessions = redfish_auth.Sessions()
    server.socket = endpoint.tls.wrap_socket(server.socket, server_side=True)
    return serve(server)


if __name__ == "__main__":
    sys.exit(main())
