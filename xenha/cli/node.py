"""`xenha node standby|online NODE`: a safe drain of a node and its way back."""

from xenha.cli import plans

DRAIN_WAIT = 1800  # seconds a whole drain may take


def register(sub):
    p = sub.add_parser(
        "node",
        help="drain a node safely (standby) and bring it back (online)",
        description="Take a node out of service for work (updates, reboots) and back.",
    )
    nsub = p.add_subparsers(dest="node_command", metavar="ACTION")
    nsub.required = True
    s = nsub.add_parser(
        "standby",
        help="move the node's VMs away live, hand over the pool master, then standby",
        description="A safe drain: the node's VMs migrate live to the other nodes, one at "
        "a time, highest priority first; then the node goes into standby, which hands the "
        "pool master over last. The steps are first played on a copy of the CIB with "
        "crm_simulate and shown in VM words. Refuses (unless --force) when the cluster is "
        "busy, another node is offline, unclean, in standby or being fenced, the node's "
        "leaving would cost quorum, its fence devices do not answer a status probe, the "
        "hosts the VMs go to lack the memory xapi will ask for, or (unless "
        "--allow-restart) a VM would restart rather than migrate. A drain that cannot "
        "finish takes its bans back (VMs that moved stay) and says what it did. Exit 0 "
        "drained (or a dry run that would go ahead), 1 refused or failed.",
    )
    s.add_argument("node", metavar="NODE", help="the node to drain (its Pacemaker name)")
    plans.add_options(s, DRAIN_WAIT)
    s.add_argument(
        "--allow-restart",
        action="store_true",
        help="let VMs that cannot migrate live restart on another node",
    )
    s.set_defaults(func=run_standby)
    o = nsub.add_parser(
        "online",
        help="take the node out of standby",
        description="Take NODE out of standby: it may run resources again. VMs do not move "
        "back by themselves (resource stickiness); the preview shows what Pacemaker would "
        "do. Exit 0 done, 1 failed.",
    )
    o.add_argument("node", metavar="NODE", help="the node to bring back")
    plans.add_options(o, 300, force=False)
    o.set_defaults(func=run_online)


def _fencing(node):
    """(works, detail) of the node's fence devices' status probe, or the error. A node
    that only a person can fence (meatware) can be: the probe cannot ask a person."""
    from xenha import fence_drill
    from xenha.errors import XenhaError

    try:
        result = fence_drill.probe(node)
    except XenhaError as e:
        return e
    return fence_drill.can_fence(result), result["summary"]


def run_standby(args):
    from xenha import pacemaker
    from xenha.deadline import Deadline
    from xenha.errors import XenhaError
    from xenha.operate import checks, drain

    view = plans.live_view()
    node = plans.known_node(view, args.node)
    if any(n["name"] == node and n["standby"] for n in view["cluster"]["nodes"]):
        print("%s is already in standby" % node)
        return 0
    steps = drain.preview(node, view["cluster"])
    try:
        quorum = pacemaker.quorum()
    except XenhaError as e:
        quorum = e
    refusals = drain.refusals(node, view, steps, quorum, _fencing(node))
    if not args.allow_restart:
        refusals += checks.restarts(steps, view["cluster"])
    stop = plans.show(args, "standby " + node, steps, refusals)
    if stop is not None:
        return stop
    deadline = Deadline(args.wait or DRAIN_WAIT)
    say = plans.progress(args)
    drain.Drain(node, say).run(deadline)
    plans.settle(args, deadline.left())
    say("%s is drained" % node)
    return 0


def run_online(args):
    from xenha.deadline import Deadline
    from xenha.operate import paper
    from xenha.operate.verbs import Verbs

    view = plans.live_view()
    node = plans.known_node(view, args.node)
    with paper.Paper() as p:
        p.verbs.standby(node, on=False)
        changes = p.run(set(view["cluster"]["vm_resources"]))
    stop = plans.show(args, "online " + node, [("%s online" % node, changes)], [])
    if stop is not None:
        return stop
    deadline = Deadline(args.wait or 300)
    Verbs().standby(node, on=False)
    plans.settle(args, deadline.left())
    plans.progress(args)("%s is online" % node)
    return 0
