"""Agents for server management controllers (iLO, DRAC, iRMC): one machine, several protocols."""

import importlib

from xenha.fencing import options as o
from xenha.fencing.agent import FenceAgent
from xenha.fencing.device import Device

# method -> "module:class" of the backend, imported only when the action needs it.
BACKENDS = {
    "ipmi": "xenha.fencing.ipmi:IpmiDevice",
    "racadm": "xenha.fencing.ssh:RacadmDevice",
    "redfish": "xenha.fencing.redfish:RedfishDevice",
    "ribcl": "xenha.fencing.ribcl:RibclDevice",
}
PORTS = {"ipmi": 623, "racadm": 22, "redfish": 443, "ribcl": 443}


SYSTEMS_URI = o.Option(
    "systems_uri",
    "Redfish ComputerSystem to act on (default: the only one the service lists)",
    metavar="uri",
)


class ManagementController(Device):
    """A management controller reached through the backend its ``method`` option names
    (imported only then); every call goes to that backend."""

    plugs = False
    unreachable_hint = "controller down, wrong address or port, or the method disabled on it"

    def __init__(self, opts, secret):
        module, _, name = BACKENDS[opts.method].partition(":")
        self.backend = getattr(importlib.import_module(module), name)(opts, secret)

    def get_power(self, target):
        return self.backend.get_power(target)

    def set_power(self, target, state):
        self.backend.set_power(target, state)

    def monitor(self):
        self.backend.monitor()

    def negotiated(self):
        return self.backend.negotiated()

    def close(self):
        self.backend.close()


def bmc_agent(name, product, methods, default, longdesc):
    """The FenceAgent for a management controller that speaks ``methods`` (default ``default``)."""
    ports = ", ".join("%d for %s" % (PORTS[m], m) for m in methods)
    extra = (o.IDENTITY_FILE, o.KNOWN_HOSTS) if "racadm" in methods else ()
    if "redfish" in methods or "ribcl" in methods:
        extra += (o.SSL_INSECURE, o.SSL_CA_FILE)
    if "redfish" in methods:
        extra += (SYSTEMS_URI,)
    return FenceAgent(
        name=name,
        shortdesc="Fence agent for %s (xenha)" % product,
        longdesc=longdesc + " Success is reported only once the controller reads back power OFF; an"
        " unreachable controller, refused login or unknown state is a failure.",
        device=ManagementController,
        options=o.COMMON
        + o.LOGIN
        + (
            o.ipport(desc="Port of the controller (default: %s)" % ports),
            o.method(methods, default),
        )
        + extra,
    )
