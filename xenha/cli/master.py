"""`xenha master move NODE`: a planned pool master handover, no VM restarted."""

from xenha.cli import plans

MASTER_WAIT = 600  # seconds: promote (300 s) and xapi's restart on every host


def register(sub):
    p = sub.add_parser(
        "master",
        help="hand the pool master over to another node (planned)",
        description="The pool master (the promoted pool-master-clone instance).",
    )
    msub = p.add_subparsers(dest="master_command", metavar="ACTION")
    msub.required = True
    mv = msub.add_parser(
        "move",
        help="make NODE's host the pool master, restarting no VM",
        description="Hand the pool master over to NODE's host (xapi-pool-master's planned "
        "promote: pool.designate_new_master). Previewed first with crm_simulate; refuses a "
        "target that is offline, in standby, unclean, disabled or in maintenance mode in "
        "the pool, or not live, and any preview that would touch a VM. Done when Pacemaker "
        "has promoted NODE and the pool names it master; the move constraint is then "
        "cleared. Exit 0 moved, 1 refused or failed.",
    )
    mv.add_argument("node", metavar="NODE", help="the node whose host becomes master")
    plans.add_options(mv, MASTER_WAIT, force=False)
    mv.set_defaults(func=run_move)


def _pool_master(view):
    """() -> the node the pool names master now (None while it cannot tell)."""
    from xenha import status
    from xenha.errors import XenhaError

    settings = status.settings_of(view["cluster"]["master_params"])

    def read():
        try:
            pool = status.read_pool(settings, [])
        except XenhaError:
            return None  # xapi restarts on every host after a role change
        return status.nodes_of_hosts(view["cluster"], pool).get(pool["master"])

    return read


def run_move(args):
    from xenha.deadline import Deadline
    from xenha.operate import moves

    view = plans.live_view()
    node = plans.known_node(view, args.node)
    steps, refusals = moves.plan_master_move(view, node)
    stop = plans.show(args, "master move " + node, steps, refusals)
    if stop is not None:
        return stop
    deadline = Deadline(args.wait or MASTER_WAIT)
    moves.move_master(node, deadline.left(), _pool_master(view))
    plans.settle(args, deadline.left())
    plans.progress(args)("the pool master is on %s" % node)
    return 0
