"""The lab's BMCs: one IPMI-over-LAN BMC per host whose power really is the host's power.

Each BMC listens on an address of its own on the lab bridge (198.18.0.10N, port
623, as a real BMC's management port) and keeps the chassis state in the lab's
rack file. The rack runs the lab's power hook whenever a host's power really
changes, before any BMC can report the new state: an OFF read back from a lab
BMC means the host is already dead, as with real hardware.
"""

import sys
import time

from xenha.lab import network
from xenha.lab.hosts import STATE
from xenha.lab.proc import run, spawn, wait_for_line

RACK = STATE / "rack.json"
SECRET = STATE / "bmc.secret"
USER = "admin"
PORT = 623


def address(host):
    return network.PREFIX + str(100 + host.index)


def start(hosts, outlets=(), timeout=15.0):
    """Create the rack (every host powered, fed by ``outlets`` if any, the power hook
    attached) and one BMC per host."""
    import secrets

    from xenha.lab.power.rack import Rack

    hook = "xenha.lab.power.hook:apply"
    Rack.create(str(RACK), machines=[h.name for h in hosts], outlets=outlets, hook=hook)
    SECRET.write_text(secrets.token_urlsafe(12) + "\n")
    SECRET.chmod(0o600)
    procs = []
    for h in hosts:
        run(["ip", "addr", "add", address(h) + "/24", "dev", network.BRIDGE])
        argv = [
            sys.executable,
            "-u",
            "-m",
            "xenha.lab.power.ipmi_bmc",
            "--rack",
            str(RACK),
            "--machine",
            h.name,
            "--port",
            str(PORT),
            "--address",
            address(h),
            "--user",
            USER,
            "--password-file",
            str(SECRET),
        ]
        procs.append((h, spawn(argv, _log(h), STATE / ("bmc-%s.pid" % h.name))))
    deadline = time.monotonic() + timeout
    for h, proc in procs:
        wait_for_line(proc, _log(h), "listening", deadline, "BMC of %s" % h.name)


def _log(host):
    return STATE / ("bmc-%s.log" % host.name)


def ipmitool(host, *command):
    """Run ``ipmitool`` against ``host``'s BMC over IPMI-over-LAN; its output."""
    argv = ["ipmitool", "-I", "lanplus", "-H", address(host), "-p", str(PORT), "-U", USER]
    return run(argv + ["-f", str(SECRET)] + list(command), timeout=30).strip()


def power(host, state):
    """Switch a host's power through its BMC's chassis (what `ipmitool power` does)."""
    from xenha.lab.power.rack import Rack

    Rack(str(RACK)).command("machines", host.name, state)
