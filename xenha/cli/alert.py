"""`xenha alert test`: a test mail through the cluster's e-mail alert, as the agent sends."""

import json
import sys


def register(sub):
    p = sub.add_parser(
        "alert",
        help="the cluster's e-mail alert: send a test mail",
        description="The cluster's e-mail alert (alert-email, see docs/alerts.md).",
    )
    cmds = p.add_subparsers(dest="alert_command", metavar="ACTION")
    cmds.required = True
    t = cmds.add_parser(
        "test",
        help="send a test mail as the alert agent would, and say where it went",
        description="Send a test mail to each recipient of the cluster's e-mail alert, as "
        "the alert agent sends one: the alert's settings from the live CIB (cibadmin), "
        "the same text and mail transport, as hacluster when run as root. The speaker rule "
        "(one node mails an event) and duplicate suppression are bypassed: the mail goes "
        "from this node, every time. Exit 1 when a mail could not be sent.",
    )
    t.add_argument(
        "--to",
        metavar="ADDRESS",
        help="send only to ADDRESS (with the alert's own settings), not to its recipients",
    )
    t.add_argument(
        "--debug",
        action="store_true",
        help="show the SMTP conversation on stderr (the login's secret masked)",
    )
    t.add_argument("--json", action="store_true", help="print the reports as JSON")
    t.set_defaults(func=run_test)


def run_test(args):
    from xenha import pacemaker
    from xenha.alerts import drill, settings
    from xenha.crm.agents import ALERT_AGENT
    from xenha.errors import XenhaError
    from xenha.install import ALERT_USER

    try:
        cib = pacemaker.cib("configuration")
    except pacemaker.PacemakerError as e:
        raise XenhaError("cannot read the alerts from the CIB: %s" % e) from None
    targets = drill.recipients(settings.from_cib(cib, ALERT_AGENT), args.to)
    debug = _conversation if args.debug else None
    if not args.json:
        print("test mail: %s" % drill.BYPASSED)
    reports = []
    for alert_id, recipient, attrs in targets:
        report = drill.send(alert_id, recipient, attrs, debug=debug, user=ALERT_USER)
        reports.append(report)
        if not args.json and report["sent"]:
            print(_sent(report))
    if args.json:
        print(json.dumps({"bypassed": drill.BYPASSED, "mails": reports}, indent=2))
    failed = [r for r in reports if not r["sent"]]
    if failed:
        raise XenhaError("; ".join("not sent to %(recipient)s: %(error)s" % r for r in failed))
    return 0


def _sent(r):
    how = ["STARTTLS" if r["starttls"] else "no TLS"]
    if r["login"]:
        how.append("login " + r["login"])
    how += ["as " + r["user"], "from " + r["sender"]]
    return "sent to %s via %s:%d in %.2fs\n  how:     %s\n  subject: %s\n  server:  %s" % (
        r["recipient"],
        r["server"],
        r["port"],
        r["seconds"],
        ", ".join(how),
        r["subject"],
        r["answer"],
    )


def _conversation(line):
    print("smtp: " + line, file=sys.stderr)
