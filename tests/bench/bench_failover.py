"""Benchmark: power cut of a lab host -> its VMs running on survivors, xenha vs stock.

    .venv/bin/python tests/bench/bench_failover.py [--trials 20] [--setups three-node,two-node]
                                                   [--no-stock] [--hiccup] [--json]
                                                   [--keep-logs DIR] [--timing fast]

Needs root (a real lab: see docs/lab.md). For each setup (``three-node``: 3 hosts,
majority; ``two-node``: 2 hosts + corosync-qnetd arbiter) one lab is brought up with
xenha's generated configuration (corosync timings included). Every other trial cuts
the power of the pool master (a master takeover and VM restarts), the others that of
the slave running the most VMs (the master when no slave runs one); each waits for
every VM of that host to run on a survivor (and for a new master), lets the fenced host
reboot and rejoin, and goes on. ``--timing`` picks the description's corosync profile
(``cluster.timing``: ``fast``, the lab's, by default; ``production``, what `xenha config`
generates by default, detects later and rides out longer stalls).
The stock baseline uses the same lab with plain Pacemaker: ``fence_ipmilan`` against
the same BMCs (stonith-action=off, the host powered on again through its BMC between
trials) and one ``ocf:pacemaker:Dummy`` per VM; each trial cuts the host running the
most Dummies. ``--hiccup`` cuts each host's network for 1 s in turn: nobody may be
fenced and the membership must not change.

Prints p50/p95/max of each phase (seconds after the power cut), nothing is asserted.
"""

import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from xenha.errors import XenhaError  # noqa: E402
from xenha.lab.cluster import Lab  # noqa: E402
from xenha.lab.power import bmcs  # noqa: E402
from xenha.lab.proc import poll  # noqa: E402
from xenha.lab.recorder import install as install_recorder  # noqa: E402
from xenha.lab.scenarios import evidence  # noqa: E402
from xenha.lab.scenarios.power_cut import PowerCut, fence_phases  # noqa: E402

SETUPS = {"three-node": (3, "majority"), "two-node": (2, "qdevice")}


class Unsettled(Exception):
    """The cluster did not get back to every host online."""


def settle(lab, timeout=180):
    try:
        lab.settle(timeout, check=False)
    except XenhaError as e:
        raise Unsettled(str(e)) from None


# The power cut's phases (xenha.lab.scenarios.power_cut) the benchmark reports, and the
# last of the host's VMs running on a survivor.
PHASES = ("membership_lost", "power_off_by_bmc", "fence_confirmed", "master_answering")
PHASES += ("vms_running",)


def xenha_trial(lab, victim_name, results, timeout=90):
    """Cut ``victim_name``; wait for its VMs on survivors (and, if it was the pool master,
    for a new master). Its phases are appended to ``results`` before the cluster settles."""
    cut = PowerCut(lab, lab.host(victim_name))
    phases = cut.run(timeout)
    phases.update(vms_running=cut.all_vms_running(), master=cut.was_master)
    results.append(phases)
    settle(lab)
    return phases, cut.sim.double_runs()


STOCK = """\
property cib-bootstrap-options: stonith-enabled=true stonith-action=off
rsc_defaults rsc-options: resource-stickiness=1000
{fences}{dummies}"""


def stock_config(lab):
    sim_where = evidence.vms_where()
    fences, dummies = "", ""
    for h in lab.hosts:
        fences += (
            "primitive stock-fence-{n} stonith:fence_ipmilan params ip={ip} ipport={port} "
            'username={user} lanplus=1 passwd_script="cat {secret}" pcmk_host_list={n} '
            "op monitor interval=60s\nlocation stock-fence-{n}-not-self stock-fence-{n} "
            "-inf: {n}\n"
        ).format(n=h.name, ip=bmcs.address(h), port=bmcs.PORT, user=bmcs.USER, secret=bmcs.SECRET)
    for vm, hosts in sorted(sim_where.items()):
        dummies += (
            "primitive stock-{vm} ocf:pacemaker:Dummy op monitor interval=10s\n"
            "location stock-{vm}-home stock-{vm} 100: {host}\n"
        ).format(vm=vm, host=hosts[0])
    return STOCK.format(fences=fences, dummies=dummies) + install_recorder()


def promoted(lab):
    """The node where Pacemaker holds the pool master role Promoted."""
    node = evidence.promoted(lab)
    if node is None:
        raise Unsettled("no node holds the pool master role")
    return node


def busiest(lab, prefix, trial, exclude=None):
    """The host running the most resources named ``prefix...`` (ties: rotate by trial)."""
    where = evidence.placement(lab)
    hosts = [h.name for h in lab.hosts if h.name != exclude]
    hosts = hosts[trial % len(hosts) :] + hosts[: trial % len(hosts)]
    return max(hosts, key=lambda n: sum(r.startswith(prefix) for r in where.get(n, [])))


def stock_trial(lab, victim_name, results, timeout=90):
    victim = lab.host(victim_name)
    dummies = [r for r in evidence.placement(lab)[victim_name] if r.startswith("stock-vm")]
    cut = time.time()
    lab.crash(victim)

    def started():
        starts = evidence.select(evidence.events(), cut, kind="resource", task="start", rc="0")
        times = {e.rsc: e.t for e in starts if e.node != victim_name and e.rsc in dummies}
        return max(times.values()) if len(times) == len(dummies) else None

    started_at = poll(started, timeout)
    result = fence_phases(lab.hosts, victim_name, cut)
    result = {k: result[k] for k in PHASES if k in result}
    result["vms_running"] = started_at
    results.append({k: (v - cut if v else None) for k, v in result.items()})
    bmcs.power(victim, "on")  # stonith-action=off: the BMC powers the host on again
    settle(lab)


def summary(trials):
    out = {}
    for phase in PHASES:
        values = sorted(t[phase] for t in trials if t.get(phase) is not None)
        if not values:
            out[phase] = None
            continue
        p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        out[phase] = {
            "p50": round(statistics.median(values), 3),
            "p95": round(p95, 3),
            "max": round(values[-1], 3),
            "n": len(values),
        }
    return out


def hiccup_trial(lab, seconds=1.0):
    """Cut each host's network for ``seconds`` in turn: a tuned cluster neither loses
    the host from its membership nor fences anybody."""
    t = time.time()
    for host in lab.hosts:
        host.cable.set_link(False)
        time.sleep(seconds)
        host.cable.set_link(True)
        time.sleep(10)
    events = evidence.select(evidence.events(), t)
    return {
        "hosts": len(lab.hosts),
        "fences": sum(e.kind == "fencing" for e in events),
        "members_lost": sum(e.kind == "node" and e.desc == "lost" for e in events),
    }


def keep_logs(directory, name):
    """Copy each host's Pacemaker and corosync logs and the lab's timelines to
    ``directory/name`` before the lab goes."""
    import shutil

    from xenha.lab.hosts import STATE

    dest = os.path.join(directory, name)
    os.makedirs(dest, exist_ok=True)
    for path in ["events.tsv", "power.tsv", "pool.crm"] + [
        "%s/var/log/%s/%s.log" % (h, d, d)
        for h in sorted(p.name for p in STATE.glob("host*"))
        for d in ("pacemaker", "corosync")
    ]:
        if (STATE / path).exists():
            shutil.copy(str(STATE / path), os.path.join(dest, path.replace("/", "_")))


def run_setup(name, trials, stock, hiccup, log, logs=None, timing="fast"):
    hosts, quorum = SETUPS[name]
    lab = Lab(hosts, quorum, timing=timing)
    report = {"setup": name, "timing": timing, "aborted": None}
    lab.up(vms=2 * hosts, progress=log)
    try:
        lab.configure(progress=log)
        ours, report["double_runs"] = [], []
        for i in range(trials):
            # Every other trial cuts the pool master, the others the busiest slave (the
            # master again when no slave runs a VM, as in a two-node pool after a cut).
            master = promoted(lab)
            victim = master if i % 2 == 0 else busiest(lab, "vm-", i, exclude=master)
            if not any(r.startswith("vm-") for r in evidence.placement(lab)[victim]):
                victim = master
            phases, double_runs = xenha_trial(lab, victim, ours)
            report["xenha"] = summary(ours)
            report["xenha_master_cut"] = summary([t for t in ours if t["master"]])
            report["xenha_slave_cut"] = summary([t for t in ours if not t["master"]])
            report["double_runs"] += double_runs
            log("%s xenha trial %d: %s" % (name, i + 1, phases))
        if hiccup:
            report["hiccup"] = hiccup_trial(lab)
            log("%s hiccup: %s" % (name, report["hiccup"]))
        if stock:
            # Replace xenha's configuration with the stock one on the same lab.
            first = lab.hosts[0]
            first.exec(["crm", "configure", "erase"], check=False, timeout=120)
            first.load_crm(stock_config(lab))
            settle(lab)
            results = []
            for i in range(trials):
                stock_trial(lab, busiest(lab, "stock-vm", i), results)
                report["stock"] = summary(results)
                log("%s stock trial %d: %s" % (name, i + 1, results[-1]))
    except Unsettled as e:
        report["aborted"] = "the cluster did not settle after a trial: %s" % e
        log(report["aborted"])
    finally:
        if logs:
            keep_logs(logs, name)
        lab.down()
    return report


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--setups", default="three-node,two-node")
    p.add_argument("--no-stock", action="store_true", help="skip the stock baseline")
    p.add_argument("--hiccup", action="store_true", help="also run the 1 s network hiccup")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep-logs", metavar="DIR", help="copy the lab's logs to DIR/SETUP first")
    p.add_argument(
        "--timing",
        choices=("fast", "production"),
        default="fast",
        help="corosync's timing profile (cluster.timing; default fast, the lab's)",
    )
    args = p.parse_args()
    log = (lambda m: None) if args.json else (lambda m: print(m, flush=True))
    reports = [
        run_setup(s, args.trials, not args.no_stock, args.hiccup, log, args.keep_logs, args.timing)
        for s in args.setups.split(",")
    ]
    if args.json:
        print(json.dumps(reports, indent=1))
        return
    for r in reports:
        print(
            "\n== %s, timing %s: seconds after the power cut (p50 / p95 / max, n)"
            % (r["setup"], r["timing"])
        )
        for side in ("xenha", "xenha_master_cut", "xenha_slave_cut", "stock"):
            if not r.get(side):
                continue
            for phase, s in r[side].items():
                cell = (
                    "not seen"
                    if s is None
                    else "%.2f / %.2f / %.2f  (n=%d)" % (s["p50"], s["p95"], s["max"], s["n"])
                )
                print("  %-16s %-16s %s" % (side, phase, cell))
        x = (r.get("xenha") or {}).get("vms_running")
        s = (r.get("stock") or {}).get("vms_running")
        if x and s:
            print(
                "  VM recovery ratio xenha/stock: p50 %.2f, p95 %.2f"
                % (x["p50"] / s["p50"], x["p95"] / s["p95"])
            )
        print("  double runs: %s" % (r.get("double_runs") or "none"))
        if r["aborted"]:
            print("  ABORTED: %s" % r["aborted"])
        if "hiccup" in r:
            h = r["hiccup"]
            print(
                "  1 s network hiccup on each of %d hosts: %d fence(s), %d membership loss(es)"
                % (h["hosts"], h["fences"], h["members_lost"])
            )


if __name__ == "__main__":
    main()
