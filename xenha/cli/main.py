"""Entry point of the `xenha` command: one subcommand per module in this package."""

import argparse
import importlib
import sys

from xenha import __version__
from xenha.errors import XenhaError

# Each module has ``register(subparsers)``, which adds its parser and sets ``func``.
COMMANDS = (
    "install",
    "lab",
    "config",
    "fence",
    "status",
    "node",
    "vm",
    "master",
    "maintenance",
    "check",
    "backup",
    "alert",
    "log",
    "completion",
)

DESCRIPTION = """\
High availability for XAPI pools (XenServer / XCP-ng) with Pacemaker/Corosync
as the cluster brain. Run `xenha COMMAND --help` for the options of a command."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="xenha", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version="xenha " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module("xenha.cli." + name).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except XenhaError as e:
        print("xenha: error: %s" % e, file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        print("xenha: interrupted", file=sys.stderr)
        rc = 130
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()
