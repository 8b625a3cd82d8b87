"""`xenha fence confirm NODE`: the operator's half of manual (meatware) fencing."""

from xenha.fencing import meatware


def register(sub):
    p = sub.add_parser(
        "fence",
        help="manual fencing: list and confirm requests of fence_xenha_meatware",
        description="Manual fencing. fence_xenha_meatware waits until an operator has powered "
        "the node off and confirmed it here, on the node that logged the request.",
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
    c.add_argument("node", metavar="NODE")
    c.add_argument("--dir", default=meatware.DEFAULT_DIR, help="confirm_dir of the fence device")
    c.set_defaults(func=run_confirm)
    w = fsub.add_parser("pending", help="list the nodes waiting for a confirmation")
    w.add_argument("--dir", default=meatware.DEFAULT_DIR, help="confirm_dir of the fence device")
    w.set_defaults(func=run_pending)


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
