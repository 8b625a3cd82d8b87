"""What the lab's rack calls when a host's power really changes (under the rack's lock,
before any BMC or PDU can report the new state)."""

from xenha.lab.pool import Lab


def apply(machine, powered):
    """Cut the host (processes, link, xapi) or boot it; machines that are not hosts have
    nothing to do."""
    lab = Lab.current()
    host = next((h for h in lab.hosts if h.name == machine), None)
    if host is None:
        return
    if powered:
        lab.boot(host)
    else:
        lab.crash(host)
