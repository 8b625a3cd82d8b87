"""fence_xenha_meatware: a person powers the node off and confirms with `xenha fence confirm`."""

from xenha.fencing import meatware
from xenha.fencing import options as o
from xenha.fencing.agent import FenceAgent, run

AGENT = FenceAgent(
    name="fence_xenha_meatware",
    shortdesc="Manual fencing: an operator powers the node off and confirms (xenha)",
    longdesc="fence_xenha_meatware asks a person to cut the power of a node: it logs a critical"
    " alert 'power off NODE then confirm' and waits, at most power_timeout seconds, until"
    " `xenha fence confirm NODE` is run on the node that logged the alert. Only a"
    " confirmation for exactly that node and that request counts. Give the fence device"
    " timeouts (pcmk_off_timeout, pcmk_reboot_timeout) longer than power_timeout.",
    device=meatware.MeatwareDevice,
    options=(
        o.ACTION,
        o.PLUG,
        o.VERBOSE,
        o.Option(
            "power_timeout",
            "Seconds to wait for the operator's confirmation",
            type="second",
            default="240",
        ),
        o.POWER_WAIT,
        o.LOGIN_TIMEOUT,
        o.Option(
            "confirm_dir",
            "Directory where requests and confirmations meet",
            default=meatware.DEFAULT_DIR,
            metavar="path",
        ),
    ),
    actions=("off", "reboot", "status", "monitor", "metadata", "validate-all"),
)


def main():
    run(AGENT)
