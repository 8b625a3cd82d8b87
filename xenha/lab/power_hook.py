"""What the lab's rack calls when a host's power really changes (under the rack's lock,
before any BMC or PDU can report the new state)."""

import time

from xenha.lab.hosts import STATE
from xenha.lab.pool import Lab

LOG = STATE / "power.tsv"  # when each host's power really went off or on: time, host, state


def apply(machine, powered):
    """Cut the host (processes, link, xapi) or boot it; machines that are not hosts have
    nothing to do."""
    lab = Lab.current()
    host = next((h for h in lab.hosts if h.name == machine), None)
    if host is None:
        return
    with open(LOG, "a") as log:
        log.write("%.6f\t%s\t%s\n" % (time.time(), machine, "on" if powered else "off"))
    if powered:
        lab.boot(host)
    else:
        lab.crash(host)
