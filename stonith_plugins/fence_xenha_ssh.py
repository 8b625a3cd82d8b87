"""fence_xenha_ssh (test only): power commands run over SSH on a power controller."""

from xenha.fencing import options as o
from xenha.fencing.agent import FenceAgent, run
from xenha.fencing.ssh import CommandTemplateDevice


def _command(name, desc):
    return o.Option(
        name, desc + "; {plug} is replaced by the plug", required=True, metavar="command"
    )


AGENT = FenceAgent(
    name="fence_xenha_ssh",
    shortdesc="TEST ONLY: fencing by commands over SSH (xenha)",
    longdesc="fence_xenha_ssh is for test labs only. It logs in over SSH (key or password,"
    " the host key checked against known_hosts) to a machine that controls the power of the"
    " node - a lab hypervisor or power shell - and runs off_command / on_command; the state"
    " is read back with status_command, whose output must say ON or OFF. Logging into the"
    " node itself to power it off is not offered: a node that went silent cannot confirm"
    " that it is off.",
    device=CommandTemplateDevice,
    options=o.COMMON
    + (
        o.IP,
        o.ipport(22, desc="TCP port of the SSH server"),
        o.USERNAME,
        o.PASSWORD_FILE,
        o.PASSWORD_SCRIPT,
        o.IDENTITY_FILE,
        o.KNOWN_HOSTS,
        _command("off_command", "Command that switches the power off"),
        _command("on_command", "Command that switches the power on"),
        _command("status_command", "Command that prints ON or OFF"),
    ),
)


def main():
    run(AGENT)
