"""`xenha lab demo`: cut the pool master's power and show what the cluster does about it.

The lab is brought up with BMCs, the cluster description of the lab is turned
into Pacemaker configuration by xenha's own generator and loaded with crmsh;
then the pool master host loses power without its BMC knowing
(:mod:`~xenha.lab.scenarios.power_cut`). The timeline comes from the lab's evidence
(:mod:`~xenha.lab.scenarios.evidence`): Pacemaker's alerts (membership, fencing,
promotion), its log (the fence request), the rack's power log and the hypervisor
truth (when each VM really runs again).
"""

from xenha.lab.cluster import Lab
from xenha.lab.pool import service
from xenha.lab.scenarios import evidence
from xenha.lab.scenarios.power_cut import PowerCut


def run(hosts=3, vms=4, timeout=240.0, progress=print):
    """Up, settle, cut the master's power, watch the recovery, down. Returns the report."""
    lab = Lab(hosts)
    lab.up(vms=vms, progress=progress)
    try:
        lab.configure(progress=progress)
        sim = service.control()
        cut = PowerCut(lab, lab.host(service.info()["master"]))
        progress(
            "cutting the power of %s (pool master, running %s)"
            % (cut.victim.name, ", ".join(cut.vms) or "no VM")
        )
        phases = cut.run(timeout)
        final = evidence.vms_where(cut.info)
        return {
            "victim": cut.victim.name,
            "phases": phases,
            "double_runs": sim.double_runs(),
            "protected_vms_running": all(
                any(h != cut.victim.name for h in final[n]) for n in final
            ),
        }
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
