"""fence_xenha_irmc: Fujitsu iRMC through IPMI-over-LAN."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_irmc",
    "Fujitsu iRMC",
    methods=("ipmi",),
    default="ipmi",
    longdesc="fence_xenha_irmc powers a Fujitsu PRIMERGY server off and on through its iRMC,"
    " using IPMI 2.0 over LAN.",
)


def main():
    run(AGENT)
