"""`xenha install` / `xenha uninstall`: agents into the paths Pacemaker searches."""

import os
import sys

from xenha import install as lib


def register(sub):
    p = sub.add_parser(
        "install",
        help="install the OCF, fence and alert agents on this node",
        description=(
            "Install the OCF agents into ROOT/%s/, the fence agents into ROOT/%s/ and the "
            "alert agents into ROOT/%s/ (their state directory ROOT/%s/ owned by %s), as "
            "executables run by this Python, and ROOT/%s with xapi.service's drop-in "
            "ROOT/%s, which runs it before xapi starts, and the service ROOT/%s, which "
            "makes the cluster follow the pool's VM flags (run systemctl daemon-reload, "
            "then systemctl enable --now xenha-follow). Safe to re-run: unchanged files "
            "are left alone."
            % (
                lib.OCF_DIR,
                lib.FENCE_DIR,
                lib.ALERT_DIR,
                lib.ALERT_STATE_DIR,
                lib.ALERT_USER,
                lib.BOOT_ROLE,
                lib.XAPI_DROP_IN,
                lib.FOLLOW_UNIT,
            )
        ),
    )
    _root_option(p)
    p.add_argument(
        "--lab",
        action="store_true",
        help="a test lab: also install the test-only agents (%s); an install without --lab "
        "removes them again" % ", ".join(m.rsplit(".", 1)[1] for m in lib.LAB_ONLY_AGENTS),
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="only report what is installed, missing or stale (the agents of the last "
        "install, or with --lab the test lab's); exit 1 unless all is installed",
    )
    p.add_argument(
        "--package",
        action="store_true",
        help="write a package's build root (rpm's install step, packaging/xenha.spec): also "
        "ROOT/%s, the systemd files in ROOT/%s, no manifest and no ownership (the package "
        "manager owns the files); needs --root" % (lib.COMMAND, lib.PACKAGE_UNITS.rstrip("/")),
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="the interpreter the launchers run (default: this one, %(default)s)",
        default=sys.executable,
    )
    p.set_defaults(func=run_install)

    p = sub.add_parser(
        "uninstall",
        help="remove what `xenha install` put in place",
        description="Remove exactly the files and directories `xenha install` created under ROOT. "
        "Files changed since they were installed are kept and reported.",
    )
    _root_option(p)
    p.set_defaults(func=run_uninstall)


def _root_option(parser):
    parser.add_argument(
        "--root",
        default="/",
        help="install under this directory instead of / (for packaging and tests)",
    )


def _root(args):
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        raise lib.InstallError("root %s is not a directory" % root)
    return root


def _show(root, verb, relpaths):
    for relpath in relpaths:
        print("%s %s" % (verb, os.path.join(root, relpath)))


def run_install(args):
    root = _root(args)
    if args.check:
        report = lib.check(root, lab=args.lab or None)
        for relpath, state in report:
            print("%-8s %s" % (state, os.path.join(root, relpath)))
        bad = [r for r, s in report if s != "ok"]
        if bad:
            print("%d of %d agents missing or stale; run `xenha install`" % (len(bad), len(report)))
            return 1
        print("all %d agents installed" % len(report))
        return 0
    if args.package:
        if root == "/" or args.lab or args.check:
            raise lib.InstallError(
                "--package writes a build root: give --root, without --lab or --check"
            )
        written = lib.package(root, args.python)
        _show(root, "packaged", written)
        return 0
    changes = lib.install(root, python=args.python, lab=args.lab)
    _show(root, "removed", changes.removed)
    _show(root, "installed", changes.written)
    print(
        "%d agents in place (%d written)"
        % (len(lib.shipped_agents(args.lab)), len(changes.written))
    )
    return 0


def run_uninstall(args):
    root = _root(args)
    removed, kept = lib.uninstall(root)
    _show(root, "removed", removed)
    for relpath in kept:
        print("kept    %s (changed since install or not empty)" % os.path.join(root, relpath))
    return 1 if kept else 0
