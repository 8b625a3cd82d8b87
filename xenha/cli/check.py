"""`xenha check`: this host's preflight (also run by `xenha config load`)."""

import json
import sys


def register(sub):
    p = sub.add_parser(
        "check",
        help="preflight: no rival HA manager, secrets, fencing, quorum, clocks, versions",
        description="Check this pool host and the cluster before trusting them with VMs: "
        "XenServer's own pool HA is off and no HA-Lizard / iSCSI-HA service or process is "
        "at work here (two HA managers would fight); every secret file the CIB names is "
        "readable and closed to others, no secret is written into the CIB; every node's "
        "fence devices answer a status probe, level by level (nothing is switched); the "
        "quorum arbiter, if any, is connected; the pool hosts' clocks agree with this "
        "one's (host.get_servertime); every node runs this xenha; Pacemaker, Corosync "
        "and Python are versions xenha supports. Exit 0 ok, 1 warning, 2 critical.",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=run)


def run(args):
    from xenha import check

    findings = check.gather()
    if args.json:
        print(json.dumps(check.as_data(findings), indent=2, sort_keys=True))
    else:
        sys.stdout.write(check.render(findings, color=sys.stdout.isatty()))
    return check.exit_code(findings)
