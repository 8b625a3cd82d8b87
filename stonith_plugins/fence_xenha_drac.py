"""fence_xenha_drac: Dell DRAC / iDRAC through IPMI-over-LAN, racadm over SSH, or Redfish."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_drac",
    "Dell DRAC / iDRAC",
    methods=("ipmi", "racadm", "redfish"),
    default="ipmi",
    longdesc="fence_xenha_drac powers a Dell server off and on through its DRAC: IPMI 2.0 over"
    " LAN (method=ipmi, iDRAC; enable 'IPMI over LAN'), 'racadm serveraction' on the DRAC's"
    " SSH shell (method=racadm, DRAC 5 and iDRAC; the DRAC's host key must be in"
    " known_hosts), or Redfish over HTTPS (method=redfish, iDRAC 7 and newer; the"
    " certificate is verified unless ssl_insecure=1).",
)


def main():
    run(AGENT)
