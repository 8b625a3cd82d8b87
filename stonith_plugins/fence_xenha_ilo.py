"""fence_xenha_ilo: HP iLO through IPMI-over-LAN or Redfish."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_ilo",
    "HP iLO",
    methods=("ipmi", "redfish"),
    default="ipmi",
    longdesc="fence_xenha_ilo powers an HP server off and on through its iLO management"
    " processor: IPMI 2.0 over LAN (method=ipmi, iLO 3 and newer; on iLO 5 enable 'IPMI/DCMI"
    " over LAN') or Redfish over HTTPS (method=redfish, iLO 4 2.30 and newer; the"
    " certificate is verified unless ssl_insecure=1). RIBCL (iLO 2) is not supported.",
)


def main():
    run(AGENT)
