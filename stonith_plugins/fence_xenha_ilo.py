"""fence_xenha_ilo: HP iLO through RIBCL over TLS, IPMI-over-LAN or Redfish."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_ilo",
    "HP iLO",
    methods=("ribcl", "ipmi", "redfish"),
    default="ribcl",
    longdesc="fence_xenha_ilo powers an HP server off and on through its iLO management"
    " processor: RIBCL over TLS (method=ribcl, the default: every iLO from 2 to 5), IPMI 2.0"
    " over LAN (method=ipmi, iLO 3 and newer; on iLO 5 enable 'IPMI/DCMI over LAN') or"
    " Redfish over HTTPS (method=redfish, iLO 4 2.30 and newer). The TLS certificate is"
    " verified against ssl_ca_file (or the system CAs) unless ssl_insecure=1.",
)


def main():
    run(AGENT)
