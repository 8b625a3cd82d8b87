"""Benchmark: power cut of a lab host -> its VMs running on survivors, xenha vs stock.

    .venv/bin/python tests/bench/bench_failover.py [--trials 20] [--setups three-node,two-node]
                                                   [--no-stock] [--hiccup] [--json]

Needs root (a real lab: see docs/lab.md). For each setup (``three-node``: 3 hosts,
majority; ``two-node``: 2 hosts + corosync-qnetd arbiter) one lab is brought up with
xenha's generated configuration, then each trial cuts the power of the host running
the pool master (so every trial includes a master takeover and VM restarts), waits for
every VM of that host to run on a survivor and for a new master, lets the fenced host
reboot and rejoin, and goes on. The stock baseline uses the same lab with plain
Pacemaker: ``fence_ipmilan`` against the same BMCs (stonith-action=off, the host powered
on again through its BMC between trials) and one ``ocf:pacemaker:Dummy`` per VM, placed
like the VMs. ``--hiccup`` adds one trial per setup where the network of one host is
cut for 1 s: nobody must be fenced.

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
from xenha.lab import bmcs, demo, timeline, xapi  # noqa: E402
from xenha.lab.pool import Lab, down  # noqa: E402
from xenha.lab.power_hook import LOG as POWER_LOG  # noqa: E402

SETUPS = {"three-node": (3, "majority"), "two-node": (2, "qdevice")}


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


class Unsettled(Exception):
    """The cluster did not get back to every host online."""


def settle(lab, timeout=180):
    try:
        lab.wait_online([h.name for h in lab.hosts], timeout=timeout)
    except XenhaError as e:
        raise Unsettled(str(e)) from None
    lab.hosts[0].exec(
        ["crm_resource", "--wait", "--timeout", "%ds" % timeout], timeout=timeout + 10, check=False
    )


def power_off_at(victim, since):
    if not POWER_LOG.exists():
        return None
    for line in POWER_LOG.read_text().splitlines():
        t, host, state = line.split("\t")
        if host == victim and state == "off" and float(t) >= since:
            return float(t)
    return None


def phases_from_events(victim, cut):
    events = timeline.events()
    return {
        "detect": timeline.first(events, cut, kind="node", node=victim, desc="lost"),
        "power_off": power_off_at(victim, cut),
        "fence_done": timeline.first(events, cut, kind="fencing", node=victim, rc="0"),
    }


def xenha_trial(lab, results, timeout=90):
    """One trial; its phases are appended to ``results`` before the cluster settles."""
    info, sim = xapi.info(), xapi.control()
    master = next(h.name for h in lab.hosts if sim.host_state(h.name)["role"] == "master")
    victim = lab.host(master)
    before = demo.running_where(sim.truth(), info)
    lost = [vm for vm, hosts in before.items() if master in hosts]
    cut = time.time()
    lab.crash(victim)
    done, new_master = {}, None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (len(done) < len(lost) or new_master is None):
        now = time.time()
        where = demo.running_where(sim.truth(), info)
        for vm in lost:
            if vm not in done and any(h != master for h in where[vm]):
                done[vm] = now
        if new_master is None and any(
            h.name != master and sim.host_state(h.name)["role"] == "master" for h in lab.hosts
        ):
            new_master = now
        time.sleep(0.05)
    result = phases_from_events(master, cut)
    result["promote"] = new_master
    result["vms_running"] = max(done.values()) if len(done) == len(lost) and lost else None
    phases = {k: (v - cut if v else None) for k, v in result.items()}
    results.append(phases)
    settle(lab)
    return phases, sim.double_runs()


STOCK = """\
property cib-bootstrap-options: stonith-enabled=true stonith-action=off
rsc_defaults rsc-options: resource-stickiness=1000
{fences}{dummies}"""


def stock_config(lab):
    sim_where = demo.running_where(xapi.control().truth(), xapi.info())
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
    return STOCK.format(fences=fences, dummies=dummies) + timeline.install_recorder()


def stock_trial(lab, victim_name, results, timeout=90):
    victim = lab.host(victim_name)
    dummies = [
        "stock-" + vm
        for vm, hosts in demo.running_where(xapi.control().truth(), xapi.info()).items()
        if victim_name in hosts
    ]
    cut = time.time()
    lab.crash(victim)

    def started():
        events = [
            e
            for e in timeline.events()
            if e.t >= cut
            and e.kind == "resource"
            and e.task == "start"
            and e.rc == "0"
            and e.node != victim_name
        ]
        times = {e.rsc: e.t for e in events if e.rsc in dummies}
        return max(times.values()) if len(times) == len(dummies) else None

    started_at = wait(started, timeout)
    result = phases_from_events(victim_name, cut)
    result["vms_running"] = started_at
    results.append({k: (v - cut if v else None) for k, v in result.items()})
    bmcs.power(victim, "on")  # stonith-action=off: the BMC powers the host on again
    settle(lab)


def summary(trials):
    out = {}
    for phase in trials[0]:
        values = sorted(t[phase] for t in trials if t[phase] is not None)
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


def hiccup_trial(lab):
    """Cut one host's network for 1 s: a tuned cluster must not fence anybody."""
    t = time.time()
    victim = lab.hosts[-1]
    victim.cable.set_link(False)
    time.sleep(1.0)
    victim.cable.set_link(True)
    time.sleep(10)
    fenced = [e for e in timeline.events() if e.t >= t and e.kind == "fencing"]
    return {"fences": len(fenced)}


def run_setup(name, trials, stock, hiccup, log):
    hosts, quorum = SETUPS[name]
    lab = Lab(hosts, quorum)
    report = {"setup": name, "aborted": None}
    try:
        lab.up(vms=2 * hosts, progress=log)
        lab.configure(progress=log)
        ours, report["double_runs"] = [], []
        for i in range(trials):
            phases, double_runs = xenha_trial(lab, ours)
            report["xenha"] = summary(ours)
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
                victim = lab.hosts[i % len(lab.hosts)].name
                stock_trial(lab, victim, results)
                report["stock"] = summary(results)
                log("%s stock trial %d: %s" % (name, i + 1, results[-1]))
    except Unsettled as e:
        report["aborted"] = "the cluster did not settle after a trial: %s" % e
        log(report["aborted"])
    finally:
        down()
    return report


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--setups", default="three-node,two-node")
    p.add_argument("--no-stock", action="store_true", help="skip the stock baseline")
    p.add_argument("--hiccup", action="store_true", help="also run the 1 s network hiccup")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    log = (lambda m: None) if args.json else (lambda m: print(m, flush=True))
    reports = [
        run_setup(s, args.trials, not args.no_stock, args.hiccup, log)
        for s in args.setups.split(",")
    ]
    if args.json:
        print(json.dumps(reports, indent=1))
        return
    for r in reports:
        print("\n== %s: seconds after the power cut (p50 / p95 / max, n)" % r["setup"])
        for side in ("xenha", "stock"):
            if not r.get(side):
                continue
            for phase, s in r[side].items():
                cell = (
                    "not seen"
                    if s is None
                    else "%.2f / %.2f / %.2f  (n=%d)" % (s["p50"], s["p95"], s["max"], s["n"])
                )
                print("  %-6s %-12s %s" % (side, phase, cell))
        x = (r.get("xenha") or {}).get("vms_running")
        s = (r.get("stock") or {}).get("vms_running")
        if x and s:
            print("  VM recovery p50 ratio xenha/stock: %.2f" % (x["p50"] / s["p50"]))
        print("  double runs: %s" % (r.get("double_runs") or "none"))
        if r["aborted"]:
            print("  ABORTED: %s" % r["aborted"])
        if "hiccup" in r:
            print("  1 s network hiccup: %d fence(s)" % r["hiccup"]["fences"])


if __name__ == "__main__":
    main()
