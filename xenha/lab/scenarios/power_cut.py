"""One power cut of a lab host, timed from the lab's evidence: the scenario of
`xenha lab demo` and of each trial of the failover benchmark.

The host loses power without its BMC knowing (a PSU or mainboard failure). Its phases,
in seconds after the cut (None: not seen):

* ``membership_lost``: Pacemaker's alert that the host left the membership;
* ``fence_requested``: the controller's request in a survivor's log;
* ``power_off_by_bmc``: the rack's power log (a fence device really cut the host);
* ``fence_confirmed``: Pacemaker's alert of the fence's success;
* ``master_promoted``: the first successful promote (the pool master role);
* ``master_answering``: another host is the simulated pool's master (if the host was);
* ``vm_running:NAME``: each VM the host ran really runs on a survivor (the truth).
"""

import time

from xenha.lab.pool import service
from xenha.lab.proc import poll
from xenha.lab.scenarios import evidence


def fence_phases(hosts, victim, cut):
    """The phases the cluster's records give for a cut of ``victim`` (a name) at ``cut``:
    ``{phase: time}`` (times, not seconds after the cut; None: not seen)."""
    events = evidence.events()
    offs = evidence.power_changes(victim, "off", cut)
    return {
        "membership_lost": evidence.first(events, cut, kind="node", node=victim, desc="lost"),
        "fence_requested": evidence.fence_requested(hosts, victim, cut),
        "power_off_by_bmc": offs[0] if offs else None,
        "fence_confirmed": evidence.first(events, cut, kind="fencing", node=victim, rc="0"),
        "master_promoted": evidence.first(events, cut, kind="resource", task="promote", rc="0"),
    }


class PowerCut:
    """A power cut of ``victim`` (a lab Host): what it runs now, then :meth:`run`."""

    def __init__(self, lab, victim):
        self.lab, self.victim = lab, victim
        self.info, self.sim = service.info(), service.control()
        self.was_master = self.sim.host_state(victim.name)["role"] == "master"
        where = evidence.vms_where(self.info, self.sim.truth())
        self.vms = sorted(vm for vm, hosts in where.items() if victim.name in hosts)
        self.cut = None
        self.vm_times, self.master_time = {}, None

    def run(self, timeout=90.0):
        """Cut the power and wait (up to ``timeout`` seconds) until each of the host's VMs
        runs on a survivor, another host is pool master if it was, and its fence is
        confirmed; the phases in seconds after the cut."""
        self.cut = time.time()
        self.lab.crash(self.victim)
        poll(self._recovered, timeout)
        return self.phases()

    def _recovered(self):
        now, name = time.time(), self.victim.name
        where = evidence.vms_where(self.info, self.sim.truth())
        for vm in self.vms:
            if vm not in self.vm_times and any(h != name for h in where[vm]):
                self.vm_times[vm] = now
        if self.was_master and self.master_time is None:
            others = (h for h in self.lab.hosts if h is not self.victim)
            if any(self.sim.host_state(h.name)["role"] == "master" for h in others):
                self.master_time = now
        return (
            len(self.vm_times) == len(self.vms)
            and (self.master_time or not self.was_master)
            and evidence.first(evidence.events(), self.cut, kind="fencing", node=name, rc="0")
        )

    def phases(self):
        """``{phase: seconds after the cut, or None}`` (see the module's list)."""
        times = fence_phases(self.lab.hosts, self.victim.name, self.cut)
        times["master_answering"] = self.master_time
        for vm in self.vms:
            times["vm_running:" + vm] = self.vm_times.get(vm)
        return {k: (round(t - self.cut, 3) if t else None) for k, t in times.items()}

    def all_vms_running(self):
        """Seconds after the cut until the last of the host's VMs ran on a survivor (None
        if one never did, or the host ran none)."""
        if not self.vms or len(self.vm_times) < len(self.vms):
            return None
        return round(max(self.vm_times.values()) - self.cut, 3)
