"""`xenha log`: xenha's and the cluster's lines about the pool, from the journal or the files."""

import argparse
import json
import os
import sys

DEFAULT_LINES = 50
UNSET = object()  # -n not given: DEFAULT_LINES, or all with --since


def register(sub):
    p = sub.add_parser(
        "log",
        help="xenha's and the cluster's log lines (journal or log files)",
        description="Show xenha's and the cluster's lines about the pool on this node: "
        "Pacemaker's and Corosync's units and the tags of xenha's agents (xen-vm(RSC), "
        "fence_xenha_*, alert-email, xenha-boot-role, xenha) from the system journal, or, "
        "without journald, from the log files (HA_LOGFILE or Pacemaker's log, Corosync's, "
        "/var/log/syslog, /var/log/messages, dom0's daemon.log and user.log), merged by "
        "time. By default the last %d lines; with --since every line since then, and with "
        "--since or -n all the log files' rotated copies (.1, .2.gz, -YYYYMMDD) are read too. "
        "Only this node's lines: run it on each node to see theirs." % DEFAULT_LINES,
        epilog="TIME: '2026-11-21 22:00', '22:00' (today), today, yesterday, '30m ago', "
        "2h or 1d (ago; with a minus: --since=-2h). Each line: its time (ISO 8601, as "
        "journalctl's short-iso), host, tag[pid] and text.",
    )
    p.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="then print new lines as they come (Ctrl-C ends)",
    )
    p.add_argument("--since", metavar="TIME", help="only lines from TIME on")
    p.add_argument(
        "--vm",
        metavar="VM",
        help="only lines naming VM: a xen-vm resource id (vm-db), the name it was given "
        "(db) or its vm parameter (UUID or name-label), looked up in the CIB",
    )
    p.add_argument("--node", metavar="NODE", help="only lines from or about NODE")
    p.add_argument(
        "-n",
        "--lines",
        type=_count,
        default=UNSET,
        metavar="LINES",
        help="the last LINES lines ('all': every one; 0 with -f: only new ones); default %d, "
        "all with --since" % DEFAULT_LINES,
    )
    p.add_argument(
        "--source",
        choices=("auto", "journal", "files"),
        default="auto",
        help="read the journal or the log files (default: the journal when journald runs)",
    )
    p.add_argument(
        "--file",
        action="append",
        metavar="PATH",
        help="read this log file (repeatable; implies --source files)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


def _count(text):
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError("%r is not a number of lines or 'all'" % text)
    return value


def run(args):
    from xenha import journal

    since = journal.parse_since(args.since) if args.since else None
    count = args.lines if args.lines is not UNSET else (None if since else DEFAULT_LINES)
    select = journal.Selection(_vm_names(args.vm) if args.vm else (), args.node)
    source = "files" if args.file else args.source
    if source == "auto":
        source = "journal" if journal.journal_available() else "files"
    if source == "journal":
        records = journal.from_journal(select, since, count, args.follow)
    else:
        paths = args.file or journal.log_files()
        records = journal.from_files(paths, select, since, count, args.follow)
    try:
        for record in records:
            sys.stdout.write(_json(record) if args.json else _text(record))
            if args.follow:
                sys.stdout.flush()
    except KeyboardInterrupt:  # the end of --follow
        return 0
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        records.close()  # a journalctl still running is killed now
    return 0


def _vm_names(given):
    """The names that find the VM ``given`` in log lines: its resource id and its ``vm``
    parameter from the CIB; ``given`` itself when the CIB cannot be read."""
    from xenha import journal, log, pacemaker
    from xenha.crm.agents import VM_AGENT

    try:
        resources = pacemaker.primitives(pacemaker.cib("resources"), VM_AGENT)
    except pacemaker.PacemakerError as e:
        log.warning("cannot read the CIB (%s): lines naming %r are shown", e, given)
        return [given]
    return journal.resolve_vm(given, resources)


def _text(r):
    from xenha.journal import format_time

    tag = "%s[%s]" % (r.ident, r.pid) if r.pid else r.ident
    return "%s %s %s: %s\n" % (format_time(r.time), r.host or "-", tag or "-", r.message)


def _json(r):
    from xenha.journal import format_time

    return (
        json.dumps(
            {
                "time": format_time(r.time) if r.time is not None else None,
                "epoch": r.time,
                "host": r.host,
                "ident": r.ident,
                "pid": int(r.pid) if r.pid and str(r.pid).isdigit() else None,
                "message": r.message,
                "priority": r.priority,
                "source": r.source,
            },
            sort_keys=True,
        )
        + "\n"
    )
