"""`xenha install` / `xenha uninstall`: agents into the paths Pacemaker searches."""

import os

from xenha import install as lib


def register(sub):
    root_help = "install under this directory instead of / (for packaging and tests)"
    p = sub.add_parser(
        "install",
        help="install the OCF, fence and alert agents on this node",
        description=(
            "Install the OCF agents into ROOT/%s/, the fence agents into ROOT/%s/ and the "
            "alert agents into ROOT/%s/ (their state directory ROOT/%s/ owned by %s), as "
            "executables run by this Python. Safe to re-run: unchanged files are left alone."
            % (lib.OCF_DIR, lib.FENCE_DIR, lib.ALERT_DIR, lib.ALERT_STATE_DIR, lib.ALERT_USER)
        ),
    )
    p.add_argument("--root", default="/", help=root_help)
    p.add_argument(
        "--check",
        action="store_true",
        help="only report what is installed, missing or stale; exit 1 unless all is installed",
    )
    p.set_defaults(func=run_install)

    p = sub.add_parser(
        "uninstall",
        help="remove what `xenha install` put in place",
        description="Remove exactly the files and directories `xenha install` created under ROOT. "
        "Files changed since they were installed are kept and reported.",
    )
    p.add_argument("--root", default="/", help=root_help)
    p.set_defaults(func=run_uninstall)


def _root(args):
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        raise lib.InstallError("root %s is not a directory" % root)
    return root


def run_install(args):
    root = _root(args)
    if args.check:
        report = lib.check(root)
        for relpath, state in report:
            print("%-8s %s" % (state, os.path.join(root, relpath)))
        bad = [r for r, s in report if s != "ok"]
        if bad:
            print("%d of %d agents missing or stale; run `xenha install`" % (len(bad), len(report)))
            return 1
        print("all %d agents installed" % len(report))
        return 0
    written = lib.install(root)
    for relpath in written:
        print("installed %s" % os.path.join(root, relpath))
    print("%d agents in place (%d written)" % (len(lib.shipped_agents()), len(written)))
    return 0


def run_uninstall(args):
    root = _root(args)
    removed, kept = lib.uninstall(root)
    for relpath in removed:
        print("removed %s" % os.path.join(root, relpath))
    for relpath in kept:
        print("kept    %s (changed since install or not empty)" % os.path.join(root, relpath))
    return 1 if kept else 0
