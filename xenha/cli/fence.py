"""`xenha fence`: the operator's half of manual (meatware) fencing (confirm, pending), the
fencing history, and a fence drill that powers nothing (test)."""

import json

from xenha.fencing import meatware


def register(sub):
    p = sub.add_parser(
        "fence",
        help="fencing: history, a drill that powers nothing, manual (meatware) confirmations",
        description="Fencing. `history` lists what the fencer did; `test` asks every fence "
        "device of a node for its power state, changing nothing; `pending` and `confirm` are "
        "the operator's half of manual fencing: fence_xenha_meatware waits until an operator "
        "has powered the node off and confirmed it, on the node that logged the request.",
    )
    fsub = p.add_subparsers(dest="fence_command", metavar="ACTION")
    fsub.required = True
    c = fsub.add_parser(
        "confirm",
        help="confirm that NODE is powered off",
        description="Confirm that NODE (exactly this name) is powered off and stays off. "
        "Fencing then succeeds and its resources may start elsewhere: never confirm a node "
        "that may still be running.",
    )
    c.add_argument("node", metavar="NODE", help="the node that is off (its Pacemaker name)")
    c.add_argument("--dir", default=meatware.DEFAULT_DIR, help="confirm_dir of the fence device")
    c.set_defaults(func=run_confirm)
    w = fsub.add_parser("pending", help="list the nodes waiting for a confirmation")
    w.add_argument("--dir", default=meatware.DEFAULT_DIR, help="confirm_dir of the fence device")
    w.set_defaults(func=run_pending)
    h = fsub.add_parser(
        "history",
        help="list the fencing operations the fencer recorded",
        description="The fencing operations Pacemaker's fencer recorded (stonith_admin "
        "--history), newest first: the node fenced, the action, its status, when it "
        "completed (local time), the node that executed it and who asked for it (the "
        "controller or stonith_admin, on which node). The fencer forgets its history when "
        "the whole cluster restarts.",
    )
    h.add_argument("node", metavar="NODE", nargs="?", help="only the fences of NODE (default: all)")
    h.add_argument("--json", action="store_true", help="print the history as JSON")
    h.set_defaults(func=run_history)
    t = fsub.add_parser(
        "test",
        help="ask every fence device of NODE for its power state (powers nothing)",
        description="A fence drill that powers nothing. For each fencing level of NODE (as "
        "Pacemaker's fencer reads the CIB), run each device's fence agent with its CIB "
        "parameters and NODE's plug, as the fencer would, but with action=status only. A "
        "level works when all its devices answer; an OFF for a node that is a cluster "
        "member is a failure (the plug or port names another machine). A person "
        "(fence_xenha_meatware) cannot be probed and is reported as manual. The probe runs "
        "from this node: the fencer may fence from another, and an answer to status does "
        "not prove that OFF works. Exit status: 0 every level works, 1 a level fails but "
        "another works, 2 no level works or NODE has no fence device.",
    )
    t.add_argument("node", metavar="NODE", help="the node whose fencing is probed")
    t.add_argument("--json", action="store_true", help="print the result as JSON")
    t.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="bound on each agent's answer (default %g)" % _probe_timeout(),
    )
    t.set_defaults(func=run_test)


def _probe_timeout():
    from xenha import fence_drill

    return fence_drill.PROBE_TIMEOUT


def run_confirm(args):
    from xenha import log

    # The confirmation goes to syslog (facility user, as xenha), where the request is.
    with log.using(log.Log("xenha", facility="user", stderr=None, style=log.COMMAND)):
        meatware.confirm(args.node, args.dir)
    print("confirmed: %s is powered off; the fence operation can now succeed" % args.node)
    return 0


def run_pending(args):
    waiting = meatware.pending(args.dir)
    for node, _ in waiting:
        print(node)
    if not waiting:
        print("no fence request is waiting for a confirmation")
    return 0


def run_history(args):
    from xenha import fence_drill, pacemaker

    events = fence_drill.history(pacemaker.fence_history(args.node or "*"))
    if args.json:
        print(json.dumps({"node": args.node, "events": events}, indent=2, sort_keys=True))
    else:
        print(fence_drill.render_history(events, args.node), end="")
    return 0


def run_test(args):
    from xenha import fence_drill
    from xenha.errors import XenhaError

    if args.timeout is not None and args.timeout <= 0:
        raise XenhaError("--timeout must be a positive number of seconds")
    timeout = fence_drill.PROBE_TIMEOUT if args.timeout is None else args.timeout
    result = fence_drill.probe(args.node, timeout=timeout)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(fence_drill.render(result), end="")
    return fence_drill.exit_code(result)
