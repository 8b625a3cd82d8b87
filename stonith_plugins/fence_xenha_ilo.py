"""fence_xenha_ilo: HP iLO through IPMI-over-LAN (iLO 3 and newer)."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_ilo",
    "HP iLO",
    methods=("ipmi",),
    default="ipmi",
    longdesc="fence_xenha_ilo powers an HP server off and on through its iLO management"
    " processor, using IPMI 2.0 over LAN (iLO 3 and newer; enable 'IPMI/DCMI over LAN').",
)


def main():
    run(AGENT)
