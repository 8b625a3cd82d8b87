"""`xenha lab demo`: cut the pool master's power and show what the cluster does about it.

The lab is brought up with BMCs, the cluster description of the lab is turned
into Pacemaker configuration by xenha's own generator and loaded with crmsh;
then the pool master host loses power without its BMC knowing. The timeline
comes from Pacemaker's alerts (membership, fencing, promotion), its log (the
fence request) and the hypervisor truth (when each VM really runs again).
"""

import re
import time
from datetime import datetime, timezone

from xenha.lab.cluster import Lab
from xenha.lab.pool import service
from xenha.lab.scenarios import timeline

FENCE_REQUEST = re.compile(
    r"^(\w{3} +\d+ [\d:.]+) \S+ pacemaker-controld.*Requesting fencing \(\w+\) of node (\S+)"
)


def fence_requested(lab, victim, since):
    """Earliest "Requesting fencing (ACTION) of node VICTIM" in the survivors' logs (the
    controller's notice in Pacemaker 2.1)."""
    year = datetime.now(timezone.utc).year
    times = []
    for h in lab.hosts:
        log = h.root / "var/log/pacemaker/pacemaker.log"
        if h.name == victim or not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            m = FENCE_REQUEST.match(line)
            if m and m.group(2) == victim:
                stamp = datetime.strptime("%d %s" % (year, m.group(1)), "%Y %b %d %H:%M:%S.%f")
                t = stamp.replace(tzinfo=timezone.utc).timestamp()
                if t >= since:
                    times.append(t)
    return min(times) if times else None


def bmc_power_off(victim, since):
    """When the victim's BMC really cut its power (the rack's power hook records it)."""
    from xenha.lab.power.hook import LOG

    if not LOG.exists():
        return None
    for line in LOG.read_text().splitlines():
        t, machine, state = line.split("\t")
        if machine == victim and state == "off" and float(t) >= since:
            return float(t)
    return None


def running_where(truth, info):
    """``{vm name: [host names]}`` from the hypervisor truth."""
    hosts = {h["uuid"]: h["name"] for h in info["hosts"]}
    vms = {v["uuid"]: v["name"] for v in info["vms"]}
    where = {name: [] for name in vms.values()}
    for host_uuid, domains in truth["domains"].items():
        for vm_uuid in domains:
            if vm_uuid in vms:
                where[vms[vm_uuid]].append(hosts[host_uuid])
    return where


def run(hosts=3, vms=4, timeout=90.0, progress=print):
    """Up, settle, cut the master's power, watch the recovery, down. Returns the report."""
    lab = Lab(hosts)
    lab.up(vms=vms, progress=progress)
    try:
        lab.configure(progress=progress)
        info, sim = service.info(), service.control()
        victim = lab.host(info["master"])
        before = running_where(sim.truth(), info)
        lost_vms = sorted(name for name, where in before.items() if victim.name in where)
        progress(
            "cutting the power of %s (pool master, running %s)"
            % (victim.name, ", ".join(lost_vms) or "no VM")
        )
        cut = time.time()
        lab.crash(victim)
        vm_times, master_time = {}, None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.time()
            where = running_where(sim.truth(), info)
            for name in lost_vms:
                if name not in vm_times and any(h != victim.name for h in where[name]):
                    vm_times[name] = now
            if master_time is None:
                for h in lab.hosts:
                    if h is not victim and sim.host_state(h.name)["role"] == "master":
                        master_time = now
            if master_time and len(vm_times) == len(lost_vms):
                break
            time.sleep(0.05)
        events = timeline.events()
        phases = {
            "membership_lost": timeline.first(
                events, cut, kind="node", node=victim.name, desc="lost"
            ),
            "fence_requested": fence_requested(lab, victim.name, cut),
            "power_off_by_bmc": bmc_power_off(victim.name, cut),
            "fence_confirmed": timeline.first(
                events, cut, kind="fencing", node=victim.name, rc="0"
            ),
            "master_promoted": timeline.first(events, cut, kind="resource", task="promote", rc="0"),
            "master_answering": master_time,
        }
        for name in lost_vms:
            phases["vm_running:" + name] = vm_times.get(name)
        final = running_where(sim.truth(), info)
        report = {
            "victim": victim.name,
            "phases": {k: (round(v - cut, 3) if v else None) for k, v in phases.items()},
            "double_runs": sim.double_runs(),
            "protected_vms_running": all(any(h != victim.name for h in final[n]) for n in final),
        }
        return report
    finally:
        progress("taking the lab down")
        lab.down()


def print_report(report, out=print):
    out("timeline (seconds after the power cut of %s):" % report["victim"])
    for phase, t in report["phases"].items():
        out("  %-22s %s" % (phase, "%.2f" % t if t is not None else "not seen"))
    out("double runs: %s" % (report["double_runs"] or "none — no VM ever ran on two hosts"))
    out("every protected VM running: %s" % ("yes" if report["protected_vms_running"] else "NO"))


def verdict_ok(report):
    """No double run, every protected VM running, every phase seen, no VM before the fence."""
    phases = report["phases"]
    if report["double_runs"] or not report["protected_vms_running"]:
        return False
    if any(v is None for v in phases.values()):
        return False
    starts = [v for k, v in phases.items() if k.startswith("vm_running:")]
    return all(t >= phases["power_off_by_bmc"] for t in starts)
