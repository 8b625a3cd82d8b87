"""Redfish (DMTF) ComputerSystem power over HTTPS, with the certificate verified by default.

Written on the standard library (urllib, ssl, json): the maintained Redfish
client libraries need a newer Python than the 3.6 of XCP-ng dom0, and a
Redfish power action is a few JSON requests.

It logs in as DSP0266 ("Redfish session login authentication") prefers: a session from the
SessionService, its X-Auth-Token on every request, and a logout (DELETE of the session)
at the end, also after a failure - BMCs hold only a few sessions, and one a fence agent
leaves open blocks the next login until it times out. A service that offers no sessions
gets HTTP Basic. The password travels only in the login body or the Authorization header.
"""

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

from xenha import tls
from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 443
SERVICE_ROOT = "/redfish/v1/"
STATES = {"On": ON, "Off": OFF, "PoweringOff": ON, "PoweringOn": ON}  # PoweringOff is not OFF yet
RESET_TYPES = {ON: "On", OFF: "ForceOff"}
# What a service without a SessionService may answer a login with: Basic it is then.
NO_SESSIONS = (404, 405, 501)


class RedfishDevice(Device):
    plugs = False

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        self.base = "https://%s:%d" % (opts.ip, opts.ipport or PORT)
        self.tls = tls.context(opts.ssl_ca_file, opts.ssl_insecure, "Redfish " + self.base)
        self.auth = {}  # the headers that authenticate a request
        self.session = None  # the URI of our session, while it is open
        # Logged in here; anything that fails later fails once the runner holds the
        # device, which then closes it: the session never outlives the agent.
        self.root = self._login()
        self._system = opts.systems_uri

    @property
    def system(self):
        if self._system is None:
            self._system = self._find_system(self.root)
        return self._system

    def _basic(self):
        credentials = "%s:%s" % (self.opts.username or "", self.secret())
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    def _login(self):
        """Open a session (DSP0266 "Session login"); the service root, read without
        credentials as DSP0266 "Service root request" allows, says where."""
        try:
            root = self._request(SERVICE_ROOT, auth=False)
        except _Refused:  # a service that guards its root: Basic from the start
            self.auth = self._basic()
            return self._request(SERVICE_ROOT)
        sessions = ((root.get("Links") or {}).get("Sessions") or {}).get("@odata.id")
        if not sessions:
            self.auth = self._basic()
            return root
        login = {"UserName": self.opts.username or "", "Password": self.secret()}
        try:
            headers, body = self._send("POST", sessions, login, auth=False)
        except _Status as e:
            if e.code not in NO_SESSIONS:
                raise
            self.auth = self._basic()
            return root
        token, where = headers.get("X-Auth-Token"), headers.get("Location") or body.get("@odata.id")
        if not token or not where:
            raise FenceError(
                "Redfish service %s: the session login answered without an X-Auth-Token or a"
                " Location" % self.base
            )
        self.auth = {"X-Auth-Token": token}
        self.session = urllib.parse.urlsplit(where).path
        return root

    def close(self):
        """Log out (DSP0266 "Session termination or logout"), once."""
        session, self.session = self.session, None
        if session is not None:
            self._send("DELETE", session)

    def _request(self, path, body=None, auth=True):
        """GET ``path`` (POST ``body`` when given); the answer's JSON."""
        return self._send("GET" if body is None else "POST", path, body, auth)[1]

    def _send(self, method, path, body=None, auth=True):
        """(headers, JSON) of the answer to ``method path``; raises the failures as
        FenceError (_Status, _Refused for an HTTP status) or Unreachable."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "OData-Version": "4.0",
        }
        headers.update(self.auth if auth else {})
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(
                request, timeout=self.opts.login_timeout, context=self.tls
            ) as response:
                data = response.read()
                answered = response.headers
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                raise _Refused(
                    "Redfish service %s refused the login for user %r (HTTP %d)"
                    % (self.base, self.opts.username, e.code),
                    e.code,
                ) from None
            raise _Status(
                "Redfish service %s: %s %s answered HTTP %d" % (self.base, method, path, e.code),
                e.code,
            ) from None
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(reason):
                raise FenceError(
                    "Redfish service %s: certificate not trusted (%s); set ssl_ca_file to its "
                    "CA, or ssl_insecure=1" % (self.base, reason)
                ) from None
            raise Unreachable("Redfish service %s: %s" % (self.base, reason)) from None
        except OSError as e:  # timeouts and resets while reading
            raise Unreachable("Redfish service %s: %s" % (self.base, e)) from None
        if not data:
            return answered, {}
        try:
            return answered, json.loads(data.decode("utf-8"))
        except ValueError:
            raise FenceError("Redfish service %s: %s is not JSON" % (self.base, path)) from None

    def _find_system(self, root):
        try:
            members = self._request(root["Systems"]["@odata.id"])["Members"]
        except (KeyError, TypeError):
            raise FenceError("Redfish service %s lists no Systems" % self.base) from None
        if len(members) != 1:
            raise FenceError(
                "Redfish service %s has %d systems; choose one with systems_uri (%s)"
                % (self.base, len(members), ", ".join(m.get("@odata.id", "?") for m in members))
            )
        return members[0]["@odata.id"]

    def get_power(self, target):
        state = self._request(self.system).get("PowerState")
        if state not in STATES:
            raise FenceError("Redfish system %s reports PowerState %r" % (self.system, state))
        return STATES[state]

    def set_power(self, target, state):
        system = self._request(self.system)
        try:
            action = system["Actions"]["#ComputerSystem.Reset"]["target"]
        except (KeyError, TypeError):
            raise FenceError(
                "Redfish system %s offers no ComputerSystem.Reset" % (self.system)
            ) from None
        self._request(action, {"ResetType": RESET_TYPES[state]})


class _Status(FenceError):
    """The service answered an HTTP error status (``code``)."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class _Refused(_Status):
    """The service refused the credentials (401, 403)."""
