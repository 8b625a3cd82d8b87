"""fence_xenha_xvm: pool hosts that are VMs on one Dom0 (nested labs), powered off via XAPI."""

from xenha.fencing import options as o
from xenha.fencing.agent import FenceAgent, run
from xenha.fencing.xapi_pool import OPTIONS, VmDevice

AGENT = FenceAgent(
    name="fence_xenha_xvm",
    shortdesc="Fence agent for pool hosts that are VMs on a Dom0 (xenha)",
    longdesc="fence_xenha_xvm is for nested test pools whose hosts are VMs on one Dom0 (HA-Lizard"
    " XVM). It asks the Dom0's XAPI (ip) to hard-shut-down the VM (plug: its UUID or unique"
    " name-label) and succeeds once XAPI reads it Halted; on starts it again.",
    device=VmDevice,
    vendor_url="https://xcp-ng.org",
    options=o.COMMON + OPTIONS,
)


def main():
    run(AGENT)
