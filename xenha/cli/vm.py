"""`xenha vm list|move|cleanup|protect|unprotect|follow`: the protected VMs, one planned
move, clearing failures, and which VMs are protected (xenha.cli.protection)."""

import json

from xenha.cli import plans, protection

MOVE_WAIT = 900  # seconds: a live migration as Pacemaker bounds it, and its confirmation


def register(sub):
    p = sub.add_parser(
        "vm",
        help="list, move, clean up, protect and unprotect VMs; follow the pool's flags",
        description="The VMs the cluster protects (ocf:xenha:xen-vm resources).",
    )
    vsub = p.add_subparsers(dest="vm_command", metavar="ACTION")
    vsub.required = True
    ls = vsub.add_parser(
        "list",
        help="each protected VM: where it runs per cluster and pool, priority, failures",
        description="One line per protected VM: its resource, name in the pool, the node "
        "the cluster runs it on and the one the pool says (a mismatch is flagged), its "
        "power state, priority, whether it may migrate live, and its fail counts. Exit 0; "
        "2 when the cluster does not answer.",
    )
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    ls.set_defaults(func=run_list)
    mv = vsub.add_parser(
        "move",
        help="live-migrate a VM to NODE (or wherever Pacemaker puts it)",
        description="Move VM (its resource id, UUID or name; quote names with spaces) "
        "live to NODE, or off its node to wherever Pacemaker puts it when NODE is "
        "omitted. Previewed first with crm_simulate; done with crm_resource's own "
        "constraint, which is cleared once the VM runs there (stickiness keeps it). "
        "Refuses a target that is offline, in standby or unclean, a host without the "
        "memory, and (unless --allow-restart) a move that would restart the VM. Exit 0 "
        "moved, 1 refused or failed.",
    )
    mv.add_argument("vm", metavar="VM", help="resource id, UUID or name of the VM")
    mv.add_argument("node", metavar="NODE", nargs="?", help="where to (default: Pacemaker chooses)")
    plans.add_options(mv, MOVE_WAIT)
    mv.add_argument("--allow-restart", action="store_true", help="move it even if it must restart")
    mv.set_defaults(func=run_move)
    cl = vsub.add_parser(
        "cleanup",
        help="show and clear a VM's failures, so Pacemaker probes it afresh",
        description="Show the failed actions and fail counts of VM, then clear them "
        "(crm_resource --cleanup): Pacemaker probes the VM again and may run it where a "
        "failure had banned it. Exit 0 done, 1 failed.",
    )
    cl.add_argument("vm", metavar="VM", help="resource id, UUID or name of the VM")
    cl.add_argument("--node", metavar="NODE", help="only the failures on NODE")
    cl.set_defaults(func=run_cleanup)
    protection.register(vsub)


def rows(view):
    """The protected VMs as :func:`run_list` shows them (:data:`LIST_SCHEMA`)."""
    from xenha import status

    cluster = view["cluster"]
    out = []
    for vm in view["vms"]:
        options = cluster["vm_options"].get(vm["id"], {})
        out.append(
            {
                "id": vm["id"],
                "vm": vm["vm"],
                "name": vm.get("name"),
                "cluster": vm["pacemaker"],
                "pool": vm.get("xapi"),
                "power": vm.get("power"),
                "priority": options.get("priority", 0),
                "migrate": options.get("migrate", False),
                "failcounts": vm["failcounts"],
                "mismatch": view["pool"] is not None and status.drifted(vm),
            }
        )
    return out


def run_list(args):
    from xenha import status

    view = status.gather()
    if view["cluster"] is None:
        import sys

        print("xenha: cannot tell: %s" % view["sources"]["cluster"]["error"], file=sys.stderr)
        return 2
    table = rows(view)
    if args.json:
        print(json.dumps(table, indent=2, sort_keys=True))
        return 0
    if view["pool"] is None:
        print("pool: cannot tell (%s)" % view["sources"]["pool"]["error"])
    print(
        "%-18s %-16s %-9s %-9s %-8s %4s %-4s %s"
        % ("VM", "name", "cluster", "pool", "power", "prio", "live", "fails")
    )
    for r in table:
        fails = ",".join("%s:%s" % i for i in sorted(r["failcounts"].items())) or "-"
        print(
            "%-18s %-16s %-9s %-9s %-8s %4d %-4s %s%s"
            % (
                r["id"][:18],
                (r["name"] or "?")[:16],
                ",".join(r["cluster"])[:9] or "stopped",
                (r["pool"] or "-")[:9],
                (r["power"] or "?")[:8],
                r["priority"],
                "yes" if r["migrate"] else "no",
                fails,
                "  MISMATCH" if r["mismatch"] else "",
            )
        )
    return 0


def run_move(args):
    from xenha import status
    from xenha.operate import checks, moves

    view = plans.live_view()
    rid = moves.resolve_vm(view, args.vm)
    node = plans.known_node(view, args.node) if args.node else None
    steps, refusals = moves.plan_vm_move(view, rid, node)
    if not args.allow_restart:
        refusals += checks.restarts(steps, view["cluster"])
    stop = plans.show(args, "vm move %s %s" % (rid, node or ""), steps, refusals)
    if stop is not None:
        return stop
    from xenha.deadline import Deadline

    deadline = Deadline(args.wait or MOVE_WAIT)
    here = status.started_on(view["cluster"], rid)[0]
    now = moves.move_vm(rid, node, here, deadline.left())
    plans.settle(args, deadline.left())
    plans.progress(args)("%s runs on %s" % (rid, now))
    return 0


def run_cleanup(args):
    from xenha.operate import moves
    from xenha.operate.verbs import Verbs

    view = plans.live_view()
    rid = moves.resolve_vm(view, args.vm)
    node = plans.known_node(view, args.node) if args.node else None
    cluster = view["cluster"]
    failed = [
        f
        for f in cluster["failed_actions"]
        if f["op"].startswith(rid + "_") and node in (None, f["node"])
    ]
    counts = {n: c for n, c in cluster["failcounts"].get(rid, {}).items() if node in (None, n)}
    for f in failed:
        reason = " (%s)" % f["reason"] if f["reason"] else ""
        print("clearing: %s on %s: %s%s" % (f["op"], f["node"], f["status"], reason))
    for n, c in sorted(counts.items()):
        print("clearing: fail count %s on %s" % (c, n))
    if not failed and not counts:
        print("%s has no failures; Pacemaker probes it afresh" % rid)
    Verbs().cleanup(rid, node)
    print("cleaned up %s%s" % (rid, " on " + node if node else ""))
    return 0


_STR, _NULLSTR = {"type": "string"}, {"type": ["string", "null"]}
LIST_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "id",
            "vm",
            "name",
            "cluster",
            "pool",
            "power",
            "priority",
            "migrate",
            "failcounts",
            "mismatch",
        ],
        "properties": {
            "id": _STR,
            "vm": _STR,
            "name": _NULLSTR,
            "cluster": {"type": "array", "items": _STR},
            "pool": _NULLSTR,
            "power": _NULLSTR,
            "priority": {"type": "integer"},
            "migrate": {"type": "boolean"},
            "failcounts": {"type": "object"},
            "mismatch": {"type": "boolean"},
        },
    },
}
