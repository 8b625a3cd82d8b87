"""fence_xenha_drac: Dell DRAC / iDRAC through IPMI-over-LAN or racadm over SSH."""

from xenha.fencing.agent import run
from xenha.fencing.bmc import bmc_agent

AGENT = bmc_agent(
    "fence_xenha_drac",
    "Dell DRAC / iDRAC",
    methods=("ipmi", "racadm"),
    default="ipmi",
    longdesc="fence_xenha_drac powers a Dell server off and on through its DRAC: IPMI 2.0 over"
    " LAN (method=ipmi, iDRAC; enable 'IPMI over LAN'), or 'racadm serveraction' on the"
    " DRAC's SSH shell (method=racadm, DRAC 5 and iDRAC; the DRAC's host key must be in"
    " known_hosts).",
)


def main():
    run(AGENT)
