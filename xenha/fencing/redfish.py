"""Redfish (DMTF) ComputerSystem power over HTTPS, with the certificate verified by default.

Written on the standard library (urllib, ssl, json): the maintained Redfish
client libraries need a newer Python than the 3.6 of XCP-ng dom0, and a
Redfish power action is two JSON requests. The password travels only in the
Authorization header.
"""

import base64
import json
import ssl
import urllib.error
import urllib.request

from xenha import tls
from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

PORT = 443
SERVICE_ROOT = "/redfish/v1"
STATES = {"On": ON, "Off": OFF, "PoweringOff": ON, "PoweringOn": ON}  # PoweringOff is not OFF yet
RESET_TYPES = {ON: "On", OFF: "ForceOff"}


class RedfishDevice(Device):
    plugs = False

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        self.base = "https://%s:%d" % (opts.ip, opts.ipport or PORT)
        credentials = "%s:%s" % (opts.username or "", secret())
        self.auth = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        self.tls = tls.context(opts.ssl_ca_file, opts.ssl_insecure, "Redfish " + self.base)
        self.system = opts.systems_uri or self._find_system()

    def _request(self, path, body=None):
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers={
                "Authorization": self.auth,
                "Accept": "application/json",
                "Content-Type": "application/json",
                "OData-Version": "4.0",
            },
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(
                request, timeout=self.opts.login_timeout, context=self.tls
            ) as response:
                data = response.read()
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                raise FenceError(
                    "Redfish service %s refused the login for user %r (HTTP %d)"
                    % (self.base, self.opts.username, e.code)
                ) from None
            raise FenceError(
                "Redfish service %s: %s %s answered HTTP %d"
                % (self.base, request.get_method(), path, e.code)
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
            return {}
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            raise FenceError("Redfish service %s: %s is not JSON" % (self.base, path)) from None

    def _find_system(self):
        root = self._request(SERVICE_ROOT)
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
