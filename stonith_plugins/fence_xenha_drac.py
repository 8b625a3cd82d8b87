"""fence_xenha_drac: Dell iDRAC through IPMI-over-LAN."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_drac",
    "Dell iDRAC",
    methods=("ipmi",),
    default="ipmi",
    longdesc="fence_xenha_drac powers a Dell server off and on through its iDRAC, using"
    " IPMI 2.0 over LAN (enable 'IPMI over LAN' in the iDRAC network settings).",
)


def main():
    run(AGENT)
