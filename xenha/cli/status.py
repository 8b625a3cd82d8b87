"""`xenha status`: the cluster and the pool in one view, with crm_mon -s's exit codes."""

import functools
import json
import sys
import time


def register(sub):
    p = sub.add_parser(
        "status",
        help="one view of the cluster and the pool, and what needs attention",
        description="One view of the cluster (crm_mon, the CIB) and of the pool (XAPI, "
        "through the xapi-pool-master resource's connection parameters): quorum, DC, nodes; "
        "the pool master and hosts (disabled, maintenance mode); each protected VM where "
        "the cluster runs it and where the pool says it runs, its fail counts, and drift "
        "between the two (a VM moved outside the cluster); failed actions, pending or failed "
        "fences, leftover move constraints. A source that does not answer is reported, "
        "never taken as empty. Exit status as crm_mon -s: 0 ok, 1 warning, 2 critical.",
    )
    p.add_argument("--json", action="store_true", help="print the view as JSON")
    p.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="show the view again every SECONDS, and at once when the pool changes "
        "(XAPI's event.from); Ctrl-C ends",
    )
    p.set_defaults(func=run)


MIN_REDRAW = 0.5  # seconds: a pool that changes all the time is not redrawn faster


def run(args):
    from xenha import status
    from xenha.pool_watch import PoolWatch

    watch = None
    while True:
        view = status.gather()
        if args.json:
            print(json.dumps(view, indent=2, sort_keys=True))
        else:
            if args.watch:
                sys.stdout.write("\033[H\033[2J" if sys.stdout.isatty() else "\n")
            sys.stdout.write(status.render(view, color=sys.stdout.isatty()))
        sys.stdout.flush()
        if not args.watch:
            return status.exit_code(view)
        time.sleep(MIN_REDRAW)
        if watch is None and view["cluster"] is not None:
            params = view["cluster"]["master_params"]
            watch = PoolWatch(functools.partial(status.settings_of, params))
        if watch is None:
            time.sleep(max(args.watch, 1.0))
        else:  # at once when the pool changes, else every SECONDS (the cluster's changes)
            watch.wait(max(args.watch, 1.0))
