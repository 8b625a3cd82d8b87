"""fence_xenha_irmc: Fujitsu iRMC through IPMI-over-LAN or Redfish."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_irmc",
    "Fujitsu iRMC",
    methods=("ipmi", "redfish"),
    default="ipmi",
    longdesc="fence_xenha_irmc powers a Fujitsu PRIMERGY server off and on through its iRMC:"
    " IPMI 2.0 over LAN (method=ipmi) or Redfish over HTTPS (method=redfish, iRMC S4 and"
    " newer; the certificate is verified unless ssl_insecure=1).",
)


def main():
    run(AGENT)
