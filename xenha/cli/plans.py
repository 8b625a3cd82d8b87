"""What the commands that change a live cluster share (node, vm, master): the live
view, the preview shown as text or JSON, their common options, progress lines."""

import json
import sys


def live_view():
    """:func:`xenha.status.gather`; an error when the cluster itself does not answer."""
    from xenha import status
    from xenha.errors import XenhaError

    view = status.gather()
    if view["cluster"] is None:
        raise XenhaError("cannot tell: %s" % view["sources"]["cluster"]["error"])
    return view


def known_node(view, node):
    from xenha.errors import XenhaError

    names = [n["name"] for n in view["cluster"]["nodes"]]
    if node not in names:
        raise XenhaError("no node %s in the cluster (nodes: %s)" % (node, ", ".join(names)))
    return node


def seconds(text):
    """A --wait value: a finite number of seconds above 0."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds" % text) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("%r: give a number of seconds above 0" % text)
    return value


def add_options(p, wait, force=True):
    """--dry-run, --json, --wait[=SECONDS] (``wait``: the default bound), --force."""
    p.add_argument(
        "--dry-run", action="store_true", help="only show what would happen (exit 1: refused)"
    )
    p.add_argument("--json", action="store_true", help="print the preview as JSON")
    p.add_argument(
        "--wait",
        nargs="?",
        type=seconds,
        const=wait,
        metavar="SECONDS",
        help="also wait until the cluster is idle afterwards; SECONDS bounds the whole "
        "command (default %ds)" % wait,
    )
    if force:
        p.add_argument("--force", action="store_true", help="go ahead despite the refusals")


def show(args, command, steps, refusals):
    """Print the preview; the exit code when the command stops here (1 refused, 0 a
    dry run that would go ahead), None when it goes ahead."""
    from xenha.operate import paper

    plan = paper.plan(command, steps, refusals, getattr(args, "force", False))
    if args.json:
        print(json.dumps(plan, indent=2, sort_keys=True))
    else:
        sys.stdout.write(paper.render(plan))
    sys.stdout.flush()
    if plan["refusals"]:
        return 1
    return 0 if args.dry_run else None


def progress(args):
    """Progress lines: on stdout, or on stderr when stdout is JSON."""
    stream = sys.stderr if args.json else sys.stdout

    def say(line):
        stream.write(line + "\n")
        stream.flush()

    return say


def settle(args, seconds_left):
    """With --wait: until the cluster is idle (crm_resource --wait)."""
    from xenha.operate.verbs import Verbs

    if args.wait:
        Verbs().wait_idle(seconds_left)
