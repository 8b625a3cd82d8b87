"""`xenha lab …`: a real Pacemaker/Corosync pool on this machine, and its simulators."""

import argparse
import subprocess

from xenha.errors import XenhaError
from xenha.lab.stacks import STACKS
from xenha.model.spec import TIMING_TOKEN_MS

# The lab's quorum modes (xenha.lab.cluster.QUORUM_MODES): the lab is imported only to run
# a command, as it needs a newer Python than the pool hosts where this parser is built too.
QUORUM_MODES = ("majority", "two_node", "qdevice")


def register(sub):
    p = sub.add_parser(
        "lab",
        help="the local lab: a real multi-node cluster on this machine",
        description="The local lab: pool hosts as Linux namespace sets on a private bridge "
        "(198.18.0.0/24), each running real corosync and pacemakerd. Needs root. "
        "Run `xenha lab COMMAND --help` for a command's options.",
    )
    lab = p.add_subparsers(dest="lab_command", metavar="COMMAND")
    lab.required = True

    s = lab.add_parser(
        "up",
        help="create the lab and wait until the cluster has formed",
        description="Create N pool hosts with M VMs in their simulated XAPI pool and an IPMI "
        "BMC each, boot them, wait until every host is an online cluster member, then "
        "generate the lab's configuration with `xenha config` (description in "
        "/var/lib/xenha-lab/pool.yaml), load it with crmsh and wait until the cluster has "
        "settled. One lab per machine: refuses while a lab is up (`xenha lab down` first); a "
        "stale lab left by a killed command is removed first. On failure or Ctrl-C, "
        "everything created is removed again.",
    )
    s.add_argument("--hosts", type=int, default=3, metavar="N", help="pool hosts (default 3)")
    s.add_argument("--vms", type=int, default=4, metavar="M", help="VMs (default 4)")
    s.add_argument(
        "--fencing",
        choices=("ipmi", "apc", "ipmi,apc"),
        default="ipmi",
        metavar="ipmi|apc|ipmi,apc",
        help="fence through each host's IPMI BMC (ipmi, the default), an APC rack PDU (apc: "
        "outlet N feeds hostN), or both (ipmi,apc: the PDU as the second level when a BMC "
        "does not answer)",
    )
    s.add_argument(
        "--no-config",
        action="store_true",
        help="stop once the cluster has formed: load no configuration (fencing is off)",
    )
    s.add_argument(
        "--quorum",
        choices=QUORUM_MODES,
        help="the description's quorum.mode: majority (default for 3+ hosts), two_node "
        "(default for 2 hosts), or qdevice (a corosync-qnetd arbiter machine gives the extra "
        "vote)",
    )
    s.add_argument(
        "--timing",
        choices=tuple(TIMING_TOKEN_MS),
        default="fast",
        help="corosync's timing profile, the description's cluster.timing (default fast: "
        "the lab notices a lost host in under 3 s; production is what `xenha config` "
        "generates by default)",
    )
    s.add_argument(
        "--token",
        type=int,
        metavar="MS",
        help="corosync token timeout, cluster.token_ms (default: the profile's, fast %d ms, "
        "production %d ms)" % (TIMING_TOKEN_MS["fast"], TIMING_TOKEN_MS["production"]),
    )
    s.add_argument(
        "--stack",
        choices=sorted(STACKS),
        help="run the hosts' cluster stack and xenha's agents from another Debian's root: "
        + "; ".join(
            "%s: Pacemaker %s, Python %s" % (n, STACKS[n].pacemaker, STACKS[n].python)
            for n in sorted(STACKS)
        )
        + " (built once with debootstrap and cached in /var/cache/xenha/stacks; default: "
        "this machine's)",
    )
    s.set_defaults(func=run_up)

    s = lab.add_parser(
        "demo",
        help="bring a lab up, cut the pool master's power, show the recovery, take it down",
        description="The main job: create a lab (3 hosts, 4 VMs by default) with an IPMI BMC "
        "per host, generate its configuration with `xenha config` and load it with crmsh, cut "
        "the pool master's power without its BMC knowing, and print the timeline (membership "
        "lost, fence requested, power cut by the BMC, fence confirmed, master promoted, each VM "
        "running again) in seconds after the power cut, then the hypervisor truth's verdict. "
        "The lab is removed afterwards, also on failure or Ctrl-C. Exit 0 only when no VM ran "
        "twice, every VM runs again and every phase was seen.",
    )
    s.add_argument("--hosts", type=int, default=3, metavar="N", help="pool hosts (default 3)")
    s.add_argument("--vms", type=int, default=4, metavar="M", help="VMs (default 4)")
    s.add_argument(
        "--json",
        action="store_true",
        help="print the timeline and verdict as one JSON object (phases in seconds after the "
        "power cut, double_runs, protected_vms_running) instead of text",
    )
    s.set_defaults(func=run_demo)

    s = lab.add_parser(
        "down",
        help="remove everything the lab made",
        description="Power off every lab machine, stop every lab process and remove the lab's "
        "namespaces, bridge and files, whichever command brought the lab up. Also cleans up "
        "after a killed lab command. Waits for a lab command that is bringing a lab up or "
        "configuring it to finish first.",
    )
    s.set_defaults(func=run_down)

    s = lab.add_parser(
        "status",
        help="show each host's power and the cluster membership",
        description="Show each lab machine's power state and the cluster membership and DC as "
        "seen from each running host.",
    )
    s.set_defaults(func=run_status)

    s = lab.add_parser(
        "crash",
        help="cut a host's power without its BMC knowing",
        description="Kill HOST's init and with it every process of the host: a power cut. "
        "Its BMC still reports power on, as after a real PSU or mainboard failure.",
    )
    s.add_argument("host", metavar="HOST")
    s.set_defaults(func=run_crash)

    s = lab.add_parser(
        "power",
        help="switch a host's power through its BMC (IPMI)",
        description="Switch HOST's chassis power with ipmitool over IPMI-over-LAN, as an "
        "operator would: off cuts the host like a power cut, on boots it (after "
        "XENHA_LAB_BOOT_SECONDS, 10 by default, as set when the lab came up).",
    )
    s.add_argument("host", metavar="HOST")
    s.add_argument("state", choices=("on", "off", "status"))
    s.set_defaults(func=run_power)

    s = lab.add_parser(
        "boot",
        help="power a crashed host on again",
        description="Boot HOST afresh (new /run, corosync and pacemaker); it rejoins the cluster.",
    )
    s.add_argument("host", metavar="HOST")
    s.set_defaults(func=run_boot)

    from xenha.lab.pool.knobs import DEFAULT_KNOBS

    s = lab.add_parser(
        "toolstack-restart",
        help="restart a host's xapi, as xe-toolstack-restart does",
        description="Restart HOST's (simulated) xapi outside any role change, as "
        "xe-toolstack-restart, patching or a master change do: its endpoints refuse "
        "connections for N seconds (xapi's restart as the simulator models it), then a "
        "slave answers HOST_STILL_BOOTING until it has reached its master, and the host's "
        "VMs are resynced (xapi shuts down domains its database places on another host). "
        "Its sessions are gone. Domains keep running.",
    )
    s.add_argument("host", metavar="HOST")
    s.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_KNOBS["xapi_restart"],
        metavar="N",
        help="how long xapi refuses connections (default %(default)g)",
    )
    s.set_defaults(func=run_toolstack_restart)

    s = lab.add_parser(
        "partition",
        help="split the lab network into groups",
        description="Cut the network between groups of hosts, e.g. `xenha lab partition "
        "host1,host2 / host3`. Hosts not named form one more group. `xenha lab heal` undoes it.",
    )
    s.add_argument("groups", nargs="+", metavar="GROUP", help="comma-separated hosts; '/' between")
    s.set_defaults(func=run_partition)

    s = lab.add_parser("heal", help="undo every partition", description="Reconnect every lab host.")
    s.set_defaults(func=run_heal)

    s = lab.add_parser(
        "sim",
        help="serve a simulated XAPI pool on loopback and print its endpoints",
        description="Serve a simulated XAPI pool: one endpoint per host (XML-RPC, and "
        "JSON-RPC on /jsonrpc) on its own loopback address (same port for all), until "
        "interrupted. The password file, the "
        "endpoints and the control URL (sim.* calls) are printed. Needs no root.",
    )
    from xenha.lab.pool.options import add_arguments

    add_arguments(s)
    s.set_defaults(func=run_sim)

    s = lab.add_parser(
        "exec",
        help="run a command inside a host",
        description="Run CMD inside HOST (its mounts, network, hostname), e.g. "
        "`xenha lab exec host1 -- crm_mon -1`.",
    )
    s.add_argument("host", metavar="HOST")
    s.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD")
    s.set_defaults(func=run_exec)


def _lab():
    from xenha.lab.cluster import Lab

    return Lab.current()


def run_up(args):
    from xenha.lab.cluster import Lab

    lab = Lab(args.hosts, args.quorum, args.fencing, args.timing, args.stack)
    lab.up(vms=args.vms, token_ms=args.token)
    if not args.no_config:
        try:
            lab.configure()
        except BaseException:
            lab.down()
            raise
    return 0


def run_demo(args):
    import json

    from xenha.lab.scenarios import demo

    quiet = args.json
    report = demo.run(args.hosts, args.vms, progress=(lambda m: None) if quiet else print)
    ok = demo.verdict_ok(report)
    if args.json:
        print(json.dumps(dict(report, ok=ok), indent=1))
    else:
        demo.print_report(report)
    return 0 if ok else 1


def run_down(args):
    from xenha.lab.cluster import down

    down()
    print("lab removed")
    return 0


def run_status(args):
    from xenha.lab.pool import service

    lab = _lab()
    info, sim = service.info(), service.control()
    names = {h["uuid"]: h["name"] for h in info["hosts"]}
    names.update((v["uuid"], v["name"]) for v in info["vms"])
    truth = sim.truth()
    print("quorum: %s, fencing: %s" % (lab.quorum, " then ".join(lab.fencing)))
    print("%-8s %-13s %-5s %-16s %s" % ("machine", "address", "power", "xapi", "really running"))
    for m in lab.machines():
        role, running = "", ""
        if m in lab.hosts:
            state = sim.host_state(m.name)
            role = (
                (state["role"] + (" (emergency)" if state["emergency"] else ""))
                if state["up"]
                else "down"
            )
            uuid = next(h["uuid"] for h in info["hosts"] if h["name"] == m.name)
            running = " ".join(sorted(names.get(u, u) for u in truth["domains"].get(uuid, [])))
        power = "on" if m.is_on() else "off"
        print("%-8s %-13s %-5s %-16s %s" % (m.name, m.address, power, role, running))
    for h in lab.hosts:
        if h.is_on():
            nodes, dc = lab.members(via=h)
            view = " ".join(
                "%s:%s" % (n, "online" if up else "offline") for n, up in sorted(nodes.items())
            )
            print("%s sees  %s  DC=%s" % (h.name, view, dc or "none"))
    doubles = truth["double_runs"]
    print("double runs: %s" % (doubles or "none"))
    return 0


def run_crash(args):
    lab = _lab()
    lab.crash(lab.host(args.host))
    print("%s: power cut" % args.host)
    return 0


def run_power(args):
    from xenha.lab.power import bmcs

    lab = _lab()
    print(bmcs.ipmitool(lab.host(args.host), "chassis", "power", args.state))
    return 0


def run_boot(args):
    lab = _lab()
    lab.boot(lab.host(args.host))
    print("%s: booting" % args.host)
    return 0


def run_toolstack_restart(args):
    from xenha.lab.pool import service

    host = _lab().host(args.host)
    if args.seconds < 0:
        raise XenhaError("--seconds must not be negative")
    service.control().toolstack_restart(host.name, args.seconds)
    print("%s: xapi restarting" % host.name)
    return 0


def parse_groups(words, lab):
    """``['host1,host2', '/', 'host3']`` (or ``'host1,host2/host3'``) -> lists of hosts."""
    groups = [
        [lab.host(n) for n in g.replace(",", " ").split()] for g in " ".join(words).split("/")
    ]
    groups = [g for g in groups if g]
    named = [h for g in groups for h in g]
    if len(named) != len(set(h.name for h in named)):
        raise XenhaError("a host is named in two groups")
    rest = [h for h in lab.hosts if h not in named]
    if rest:
        groups.append(rest)
    if len(groups) < 2:
        raise XenhaError("a partition needs at least two groups, e.g. host1,host2 / host3")
    return groups


def run_partition(args):
    from xenha.lab import network

    lab = _lab()
    groups = parse_groups(args.groups, lab)
    network.partition([[h.cable for h in g] for g in groups])
    print("partitioned: " + " / ".join(",".join(h.name for h in g) for g in groups))
    return 0


def run_heal(args):
    from xenha.lab import network

    network.heal([h.cable for h in _lab().hosts])
    print("lab network healed")
    return 0


def run_sim(args):
    from xenha.lab.pool.run import run

    return run(args)


def run_exec(args):
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise XenhaError("no command given: xenha lab exec HOST -- CMD")
    return subprocess.call(_lab().host(args.host).enter(cmd))
