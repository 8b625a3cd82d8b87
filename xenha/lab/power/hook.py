"""What the lab's rack calls when a host's power really changes (under the rack's lock,
before any BMC or PDU can report the new state).

Power off cuts the host at once. Power on boots the host after BOOT_SECONDS
(environment XENHA_LAB_BOOT_SECONDS when the lab came up, default 10). Real
servers take minutes; 10 s keeps the lab quick while recovery still happens with
the failed host down, as it does in production (0 races the recovery against the
reboot, which the agents handle too)."""

import os
import subprocess
import sys
import time

from xenha.lab.cluster import Lab
from xenha.lab.hosts import STATE
from xenha.lab.proc import PidFile

LOG = STATE / "power.tsv"  # when each host's power really went off or on: time, host, state
BOOT_SECONDS = float(os.environ.get("XENHA_LAB_BOOT_SECONDS", "10"))


def _booting(host):
    return PidFile(STATE / ("boot-%s.pid" % host))


def apply(machine, powered):
    """Cut the host (processes, link, xapi) or start booting it; machines that are not
    hosts have nothing to do."""
    lab = Lab.current()
    host = next((h for h in lab.hosts if h.name == machine), None)
    if host is None:
        return
    with open(LOG, "a") as log:
        log.write("%.6f\t%s\t%s\n" % (time.time(), machine, "on" if powered else "off"))
    _booting(machine).kill()  # a boot in progress dies with the power
    if powered:
        argv = [sys.executable, "-m", "xenha.lab.power.hook", machine]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _booting(machine).write(proc.pid)
    else:
        lab.crash(host)


def main():
    """``python -m xenha.lab.power.hook HOST``: boot HOST after BOOT_SECONDS."""
    machine = sys.argv[1]
    time.sleep(BOOT_SECONDS)
    lab = Lab.current()
    lab.boot(lab.host(machine))


if __name__ == "__main__":
    main()
