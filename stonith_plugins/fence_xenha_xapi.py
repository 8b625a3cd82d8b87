"""fence_xenha_xapi: HA-Lizard's POOL method, declare a lost host dead in the XAPI pool."""

from xenha.fencing import options as o
from xenha.fencing.agent import FenceAgent, run
from xenha.fencing.xapi_pool import OPTIONS, PoolHostDevice

AGENT = FenceAgent(
    name="fence_xenha_xapi",
    shortdesc="XAPI pool fencing: declare a lost host dead (xenha; cuts no power)",
    longdesc="fence_xenha_xapi is HA-Lizard's POOL fencing method. It switches no power: it"
    " asks the pool master (ip) to declare dead a host (plug: its UUID or unique name-label)"
    " that the pool already sees as not live - the host is disabled and the power state of"
    " its VMs reset, so they may start elsewhere. It refuses a host the pool still sees"
    " live. It is only safe as a level behind a fence device that really cuts the power, or"
    " with storage-level protection: a host that is merely cut off from the network keeps"
    " running its VMs. Success is reported once the pool reads the host not live with no VM"
    " running on it.",
    device=PoolHostDevice,
    vendor_url="https://xcp-ng.org",
    options=o.COMMON + OPTIONS,
    actions=("off", "reboot", "status", "list", "monitor", "metadata", "validate-all"),
)


def main():
    run(AGENT)
