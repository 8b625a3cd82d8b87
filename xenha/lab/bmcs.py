"""The lab's BMCs: one IPMI-over-LAN BMC per host whose power really is the host's power.

Each BMC listens on an address of its own on the lab bridge (198.18.0.10N, port
623, as a real BMC's management port) and keeps the chassis state in the lab's
rack file. The rack runs the lab's power hook whenever a host's power really
changes, before any BMC can report the new state: an OFF read back from a lab
BMC means the host is already dead, as with real hardware.
"""

import subprocess
import sys
import time

from xenha.errors import XenhaError
from xenha.lab import network
from xenha.lab.hosts import STATE
from xenha.lab.proc import PidFile, run

RACK = STATE / "rack.json"
SECRET = STATE / "bmc.secret"
USER = "admin"
PORT = 623


def address(host):
    return network.PREFIX + str(100 + host.index)


def _pidfile(host):
    return PidFile(STATE / ("bmc-%s.pid" % host.name))


def start(hosts, outlets=(), timeout=15.0):
    """Create the rack (every host powered, fed by ``outlets`` if any, the power hook
    attached) and one BMC per host."""
    import secrets

    from xenha.lab.power.rack import Rack

    hook = "xenha.lab.power_hook:apply"
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
        with open(STATE / ("bmc-%s.log" % h.name), "w") as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        _pidfile(h).write(proc.pid)
        procs.append((h, proc))
    deadline = time.monotonic() + timeout
    for h, proc in procs:
        logfile = STATE / ("bmc-%s.log" % h.name)
        while "listening" not in logfile.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise XenhaError("BMC of %s did not start: %s" % (h.name, logfile.read_text()))
            time.sleep(0.05)


def ipmitool(host, *command):
    """Run ``ipmitool`` against ``host``'s BMC over IPMI-over-LAN; its output."""
    argv = ["ipmitool", "-I", "lanplus", "-H", address(host), "-p", str(PORT), "-U", USER]
    r = subprocess.run(
        argv + ["-f", str(SECRET)] + list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=30,
    )
    if r.returncode != 0:
        raise XenhaError("ipmitool %s: %s" % (" ".join(command), r.stdout.strip()))
    return r.stdout.strip()


def power(host, state):
    """Switch a host's power through its BMC's chassis (what `ipmitool power` does)."""
    from xenha.lab.power.rack import Rack

    Rack(str(RACK)).command("machines", host.name, state)
