"""An IPMI-over-LAN (lanplus) BMC for one rack machine, built on pyghmi's BMC server.

Run: ``python -m xenha.lab.power.ipmi_bmc --rack FILE --machine NAME --port N
[--address IP] --user U --password-file F`` (:mod:`xenha.lab.power.endpoint`).
``ipmitool -I lanplus`` and fence-agents' ``fence_ipmilan`` talk to it.
"""

import sys

import pyghmi.ipmi.bmc as bmc
import pyghmi.ipmi.private.serversession as serversession
import pyghmi.ipmi.private.session as ipmisession

from xenha.lab.power.endpoint import Endpoint
from xenha.lab.power.rack import OFF, ON

RAKP_HMAC_SHA1 = 1
NO_CIPHER_SUITE_MATCH = 0x11


def _only_cipher_suite_3(open_response):
    """Refuse an RMCP+ proposal other than RAKP-HMAC-SHA1, as a real BMC does.

    pyghmi's server always answers with cipher suite 3 whatever was proposed;
    a client proposing SHA-256 (pyghmi's own, suite 17) then computes the wrong
    hash. Answering "no cipher suite match" makes clients fall back to suite 3.
    """

    def create_open_session_response(self, request):
        request = bytearray(request)
        if len(request) >= 13 and request[12] != RAKP_HMAC_SHA1:
            return bytearray([request[0], NO_CIPHER_SUITE_MATCH, 0, 0]) + request[4:8]
        return open_response(self, request)

    return create_open_session_response


serversession.ServerSession.create_open_session_response = _only_cipher_suite_3(
    serversession.ServerSession.create_open_session_response
)


class RackBmc(bmc.Bmc):
    """Chassis power of one rack machine; soft shutdown behaves like a hard off."""

    def __init__(self, rack, machine, authdata, port, address="127.0.0.1"):
        super().__init__(authdata, port=port, address=address)
        self.rack = rack
        self.machine = machine

    def get_power_state(self):
        return self.rack.state("machines", self.machine)

    def power_off(self):
        self.rack.command("machines", self.machine, OFF)

    def power_shutdown(self):
        self.rack.command("machines", self.machine, OFF)

    def power_on(self):
        self.rack.command("machines", self.machine, ON)

    def power_cycle(self):
        self.rack.command("machines", self.machine, OFF)
        self.rack.command("machines", self.machine, ON)

    def power_reset(self):
        if self.rack.state("machines", self.machine) != ON:
            return 0xD5  # command not supported in present state
        return None

    def cold_reset(self):
        return None

    def is_active(self):
        return self.rack.state("machines", self.machine) == ON


def main(argv=None):
    endpoint = Endpoint(argv, __doc__, user="admin")
    login = {endpoint.user: endpoint.password}
    # The BMC registers its socket with pyghmi's IO loop, which the loop below drives.
    RackBmc(endpoint.rack, endpoint.machine, login, endpoint.port, endpoint.address)
    print("listening", flush=True)
    while True:
        # Short waits: pyghmi's IO thread sometimes misses a wake-up, and a long wait
        # would then leave a request unanswered until the client retransmits.
        ipmisession.Session.wait_for_rsp(0.02)


if __name__ == "__main__":
    sys.exit(main())
