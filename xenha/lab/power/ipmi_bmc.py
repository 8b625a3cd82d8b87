"""An IPMI-over-LAN (lanplus) BMC for one rack machine, built on pyghmi's BMC server.

Run: ``python -m xenha.lab.power.ipmi_bmc --rack FILE --machine NAME --port N
[--address IP] --user U --password-file F`` (:mod:`xenha.lab.power.endpoint`).
``ipmitool -I lanplus`` (``-C 17`` or ``-C 3``), FreeIPMI's ``ipmipower`` and
fence-agents' ``fence_ipmilan`` talk to it.
"""

import sys

import pyghmi.ipmi.bmc as bmc
import pyghmi.ipmi.private.session as ipmisession

from xenha.lab.power import rmcp_suites
from xenha.lab.power.endpoint import Endpoint
from xenha.lab.power.rack import OFF, ON

rmcp_suites.use_suites()


class RackBmc(rmcp_suites.SuiteListing, bmc.Bmc):
    """Chassis power of one rack machine; soft shutdown behaves like a hard off. It offers
    cipher suites 17 and 3 (``rmcp_suites``), as iLO 5, iDRAC 9 and iRMC S5 do."""

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
