"""``xenha log``: xenha's and the cluster's lines from the system journal or the log files,
as :class:`Record` s, selected by time, VM and node.

Which lines: those of Pacemaker's and Corosync's units (``pacemaker.service`` runs every
agent Pacemaker starts, so their syslog lines are there whatever their tag), and those
tagged by xenha's own programs: the CLI (``xenha``), each fence and alert agent and
``xenha-boot-role`` under their installed names, an OCF agent as resource-agents tags
it (``xen-vm(vm-db)``), Pacemaker's daemons (``pacemaker-*``; Pacemaker 1.1's ``crmd``,
``stonith-ng``, ...), fence agents (``fence_*``), Corosync and sbd.

Where from: the journal (``journalctl --output=json``) when journald runs on this host;
otherwise the log files: ``HA_LOGFILE`` or Pacemaker's ``PCMK_logfile`` (its sysconfig
file) or ``/var/log/pacemaker/pacemaker.log``, Corosync's log, ``/var/log/syslog``,
``/var/log/messages`` and dom0's ``daemon.log``/``user.log``, whichever exist, merged by
time with the copies of one line in two files dropped. With a start time or all lines
asked for, the files' rotated copies (logrotate's ``.1``, ``.2.gz``, ``-YYYYMMDD[.gz]``)
written to since then are read too.
"""

import collections
import functools
import gzip
import json
import os
import re
import socket
import time

from xenha.errors import XenhaError

# A line: when (seconds since the epoch; None: unknown), the host that wrote it, its
# syslog tag and pid, the text, where it was read (journal or a file's path), and for a
# journal entry its priority and cursor (else None).
Record = collections.namedtuple("Record", "time host ident pid message source priority cursor")

UNITS = (
    "pacemaker.service",
    "pacemaker_remote.service",
    "corosync.service",
    "corosync-qdevice.service",
    "corosync-qnetd.service",
    "sbd.service",
)
# Tags of the cluster's daemons: Pacemaker 2 (and its prefix), Pacemaker 1.1, Corosync, sbd.
DAEMONS = (
    "pacemakerd",
    "pacemaker_remoted",
    "crmd",
    "lrmd",
    "stonith-ng",
    "pengine",
    "attrd",
    "cib",
    "corosync",
    "corosync-qdevice",
    "corosync-qnetd",
    "sbd",
)
PREFIXES = ("pacemaker-", "fence_")
OCF_TAG = re.compile(r"^[\w.+-]+\(.*\)$")  # resource-agents' agent(instance)

LOG_FILES = (
    "/var/log/pacemaker/pacemaker.log",
    "/var/log/pacemaker.log",  # Pacemaker 1.1 built without a log directory
    "/var/log/cluster/corosync.log",  # RHEL/CentOS 7: Pacemaker 1.1 and Corosync
    "/var/log/corosync/corosync.log",
    "/var/log/syslog",
    "/var/log/messages",
    "/var/log/daemon.log",  # XenServer / XCP-ng dom0: facility daemon (the agents)
    "/var/log/user.log",  # ... and user (the xenha command)
)
PACEMAKER_SYSCONFIG = ("/etc/sysconfig/pacemaker", "/etc/default/pacemaker")
POLL = 0.5  # seconds between two looks at the files being followed


def identifiers():
    """The exact syslog tags of xenha's programs: the CLI and each installed agent under
    its name (an OCF agent's tag, ``name(instance)``, is told by its shape)."""
    from xenha import install

    names = {os.path.basename(a.relpath) for a in install.shipped_agents(lab=True)}
    return sorted({"xenha"} | {n for n in names if not n.endswith(".conf")} | set(DAEMONS))


def is_ours(ident, tags):
    """Whether a line tagged ``ident`` is xenha's or the cluster's (``tags``: identifiers())."""
    if not ident:
        return False
    return ident in tags or ident.startswith(PREFIXES) or bool(OCF_TAG.match(ident))


# -- time ---------------------------------------------------------------------------------

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(MONTHS, 1)}
_DATE = r"(\d{4})-(\d\d)-(\d\d)"
_CLOCK = r"(\d\d?):(\d\d)(?::(\d\d)(?:\.\d+)?)?"
_AGO = re.compile(r"^-?\s*(\d+)\s*([a-z]*)(?:\s+ago)?$")
_AGO_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
_AGO_UNITS.update(hour=3600, d=86400, day=86400)


def parse_since(text, now=None):
    """Seconds since the epoch of a ``--since`` TIME, local time: ``2026-11-21 22:00[:05]``
    (or with a ``T``), ``2026-11-21``, ``22:00`` (today), ``today``, ``yesterday``, ``now``,
    or a time ago: ``-30m``, ``30m ago``, ``2h``, ``1d``, ``90s``, ``10 min ago``."""
    now = time.time() if now is None else now
    word = " ".join(text.strip().lower().split())
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    if word in ("now", "today", "yesterday"):
        return {"now": now, "today": midnight, "yesterday": _days_before(midnight, 1)}[word]
    m = re.match(r"^%s(?:[ t]%s)?$" % (_DATE, _CLOCK), word)
    if m:
        y, mo, d, h, mi, s = (int(x or 0) for x in m.groups())
        return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
    m = re.match(r"^%s$" % _CLOCK, word)
    if m:
        h, mi, s = (int(x or 0) for x in m.groups())
        return time.mktime(time.localtime(now)[:3] + (h, mi, s, 0, 0, -1))
    m = _AGO.match(word)
    if m:
        unit = m.group(2) or "s"
        seconds = _AGO_UNITS.get(unit) or _AGO_UNITS.get(unit.rstrip("s"))
        if seconds:
            return now - int(m.group(1)) * seconds
    raise XenhaError(
        "--since %r: expected a time such as '2026-11-21 22:00', '22:00', 'yesterday', "
        "'30m ago' or '-2h'" % text
    )


def _days_before(midnight, days):
    t = time.localtime(midnight)
    return time.mktime(t[:2] + (t[2] - days, 0, 0, 0, 0, 0, -1))


def _syslog_time(month, day, clock, now):
    """A syslog date without a year (``Nov 21``, ``22:00:05[.123]``): this year's, or
    last year's when that would lie more than a day ahead."""
    whole, _, fraction = clock.partition(".")
    return _syslog_second(month, day, whole, int(now // 3600)) + float("0." + (fraction or "0"))


@functools.lru_cache(maxsize=4096)  # a log's lines come many to a second
def _syslog_second(month, day, clock, hour):
    now = hour * 3600.0
    h, mi, s = clock.split(":")
    fields = (_MONTHS[month.lower()], int(day), int(h), int(mi), int(s), 0, 0, -1)
    year = time.localtime(now).tm_year
    t = time.mktime((year,) + fields)
    if t > now + 86400:
        t = time.mktime((year - 1,) + fields)
    return t


def _iso_time(text):
    """``2026-11-21T22:00:05.123+01:00`` (rsyslog's RFC 3339 dates), or local without zone."""
    from xenha.pacemaker import parse_timestamp

    m = re.match(r"^%sT(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$" % _DATE, text)
    if not m:
        return None
    fraction = float(m.group(7) or 0)
    if m.group(8):
        return parse_timestamp(text) + fraction
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1)) + fraction


def format_time(t):
    """``2026-11-21T22:00:05+0100``, as ``journalctl -o short-iso`` prints a time."""
    if t is None:
        return "-" * 24
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


# -- selection ----------------------------------------------------------------------------


def mentions(words):
    """A regular expression that finds any of ``words`` as a whole name: not inside a
    longer name (``vm-db`` is not in ``vm-db2`` nor ``my-vm-db``; it is in
    ``vm-db_start_0``, ``xen-vm(vm-db)`` and ``vm-db:0``), case-insensitive."""
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True) if w)
    return re.compile(r"(?<![\w-])(?:%s)(?![A-Za-z0-9-])" % alternatives, re.IGNORECASE)


class Selection:
    """Which records ``xenha log`` shows: about a VM (any of its names), from or about a
    node; both when both are given."""

    def __init__(self, vm_names=(), node=None):
        self.vm = mentions(vm_names) if vm_names else None
        self.node = node
        self.node_mention = mentions([node, _short(node)]) if node else None

    def __call__(self, record):
        text = "%s %s" % (record.ident, record.message)
        if self.vm and not self.vm.search(text):
            return False
        if self.node:
            by = record.host and _short(record.host).lower() == _short(self.node).lower()
            return bool(by or self.node_mention.search(text))
        return True


def _short(host):
    return host.split(".")[0]


def resolve_vm(given, resources):
    """The names of the VM ``given`` names: its resource id and the ``vm`` parameter of its
    xen-vm primitive (its UUID or name-label), found among ``resources`` ({resource id:
    {parameter: value}}) by id, by the id without ``vm-``, or by that parameter."""
    wanted = given.lower()
    for rid, params in sorted(resources.items()):
        vm = params.get("vm", "")
        if wanted in (rid.lower(), rid[3:].lower() if rid.startswith("vm-") else None, vm.lower()):
            return [rid, vm] if vm else [rid]
    known = ", ".join(sorted(resources)) or "none"
    raise XenhaError("no xen-vm resource is VM %r (the CIB's: %s)" % (given, known))


# -- the journal --------------------------------------------------------------------------


def journal_available():
    """Whether journald runs here and journalctl can read it."""
    import shutil

    return shutil.which("journalctl") is not None and os.path.isdir("/run/systemd/journal")


def journal_argv(since=None, reverse=False, follow=False, after=None, lines=None):
    argv = ["journalctl", "--output=json", "--no-pager", "--quiet"]
    if since is not None:
        argv.append("--since=" + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)))
    if reverse:
        argv.append("--reverse")
    if follow:
        argv.append("--follow")
    if after:
        argv.append("--after-cursor=" + after)
    if lines is not None:
        argv.append("--lines=%d" % lines)
    # Matches of one field are ORed, of different fields ANDed; "+" ORs the two groups.
    argv += ["SYSLOG_IDENTIFIER=" + i for i in identifiers()]
    return argv + ["+"] + ["_SYSTEMD_UNIT=" + u for u in UNITS]


def entry(line):
    """The Record of one line of ``journalctl --output=json``; None for a line that is none."""
    try:
        e = json.loads(line)
    except ValueError:
        return None
    if not isinstance(e, dict):
        return None
    message = e.get("MESSAGE", "")
    if isinstance(message, list):  # not UTF-8: journald gives the bytes
        message = bytes(b & 0xFF for b in message).decode("utf-8", "replace")
    stamp = e.get("__REALTIME_TIMESTAMP")
    priority = e.get("PRIORITY")
    return Record(
        time=int(stamp) / 1e6 if str(stamp).isdigit() else None,
        host=e.get("_HOSTNAME"),
        ident=e.get("SYSLOG_IDENTIFIER") or e.get("_COMM") or "",
        pid=e.get("SYSLOG_PID") or e.get("_PID"),
        message=str(message).rstrip("\n"),
        source="journal",
        priority=int(priority) if str(priority).isdigit() else None,
        cursor=e.get("__CURSOR"),
    )


def from_journal(select, since=None, count=None, follow=False, env=None):
    """The records ``select`` keeps, oldest first: the last ``count`` (None: all) since
    ``since``, then, with ``follow``, each new one as it comes."""
    history, newest = [], None
    if count != 0:
        with _reading(journal_argv(since, reverse=True), env) as out:
            for line in out:
                record = entry(line)
                if record is None:
                    continue
                newest = newest or record.cursor
                if select(record):
                    history.append(record)
                    if count is not None and len(history) >= count:
                        break
            else:
                _check(out)
    for record in reversed(history):
        yield record
    if not follow:
        return
    if newest:
        argv = journal_argv(follow=True, after=newest)
    else:
        argv = journal_argv(since, follow=True, lines=None if since is not None else 0)
    with _reading(argv, env) as out:
        for line in out:
            record = entry(line)
            if record is not None and select(record):
                yield record
        _check(out)


def _reading(argv, env):
    from xenha.process import Lines

    try:
        return Lines(argv, env=env)
    except OSError as e:
        raise XenhaError("cannot run journalctl: %s" % e) from None


def _check(out):
    rc, err = out.wait()
    if rc != 0:
        why = "; ".join(line.strip() for line in err.splitlines() if line.strip())
        raise XenhaError("journalctl failed (rc %d): %s" % (rc, why or "no reason given"))


# -- the files ----------------------------------------------------------------------------


def log_files(env=None, root="/"):
    """The log files to read, those of :data:`LOG_FILES` that exist, Pacemaker's own first
    (``HA_LOGFILE``, else ``PCMK_logfile`` from the environment or Pacemaker's sysconfig)."""
    env = os.environ if env is None else env
    own = env.get("HA_LOGFILE") or env.get("PCMK_logfile") or _sysconfig_logfile(root)
    candidates = ([own] if own and own != "none" else []) + list(LOG_FILES)
    found = []
    for path in candidates:
        full = os.path.join(root, path.lstrip("/"))
        if os.path.isfile(full) and full not in found:
            found.append(full)
    return found


def _sysconfig_logfile(root):
    for path in PACEMAKER_SYSCONFIG:
        try:
            with open(os.path.join(root, path.lstrip("/"))) as f:
                for line in f:
                    m = re.match(r"^\s*PCMK_logfile\s*=\s*['\"]?([^'\"\s]+)", line)
                    if m:
                        return m.group(1)
        except OSError:
            continue
    return None


_SYSLOG_DATE = r"([A-Z][a-z]{2}) +(\d\d?) (\d\d:\d\d:\d\d(?:\.\d+)?)"
_ISO_DATE = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
_SYSLOG_LINE = re.compile(r"^%s (.*)" % _SYSLOG_DATE)
_ISO_LINE = re.compile(r"^%s (.*)" % _ISO_DATE)
_LAYOUTS = (
    # Pacemaker 2: "host1 pacemaker-controld  [1234] (do_state_transition) \tnotice: text",
    # the tag padded to 20 characters
    re.compile(
        r"^(?P<host>\S+) (?P<ident>[\w.-]+) *\[(?P<pid>\d+)\] \((?P<fn>[^)]*)\)\s*(?P<msg>.*)"
    ),
    # Pacemaker 1.1, Corosync's file: "[1234] host1       crmd:   notice: fn: text"
    re.compile(r"^\[(?P<pid>\d+)\] (?P<host>\S+) +(?P<ident>[\w.-]+):? +(?P<msg>.*)"),
    # syslog: "host1 tag[1234]: text"
    re.compile(
        r"^(?P<host>\S+) (?P<ident>[^\s\[:(]+(?:\([^)]*\))?)(?:\[(?P<pid>\d+)\])?: ?(?P<msg>.*)"
    ),
)
# An agent's own line in HA_LOGFILE: "xen-vm(vm-db)[1234]:\tNov 21 22:00:05 INFO: text"
_AGENT_LINE = re.compile(r"^(?P<ident>[^\s\[]+)\[(?P<pid>\d+)\]:\t(?P<rest>.*)")
_AGENT_DATES = (
    re.compile(r"^%s (?P<msg>.*)" % _SYSLOG_DATE),
    re.compile(r"^(\d{4})/(\d\d)/(\d\d)_(\d\d:\d\d:\d\d) (?P<msg>.*)"),  # +%Y/%m/%d_%T
)


def parse_line(line, path, previous=None, now=None, here=None):
    """The Record of one line of a log file (``previous``: the record before it, whose
    time, host and tag a line that is not a record of its own continues)."""
    now = time.time() if now is None else now
    line = line.rstrip("\n")
    t, rest = None, None
    m = _SYSLOG_LINE.match(line)
    if m:
        t, rest = _syslog_time(m.group(1), m.group(2), m.group(3), now), m.group(4)
    else:
        m = _ISO_LINE.match(line)
        if m:
            t, rest = _iso_time(m.group(1)), m.group(2)
    if rest is not None:
        for layout in _LAYOUTS:
            f = layout.match(rest)
            if f:
                return Record(t, f.group("host"), f.group("ident"), f.group("pid"),
                              " ".join(f.group("msg").split()), path, None, None)  # fmt: skip
        return Record(t, here, "", None, line.strip(), path, None, None)  # a layout unknown
    m = _AGENT_LINE.match(line)
    if m:
        t, msg = _agent_date(m.group("rest"), now)
        return Record(t, here, m.group("ident"), m.group("pid"), msg, path, None, None)
    if previous is not None:
        return previous._replace(message=line.strip())
    return Record(None, here, "", None, line.strip(), path, None, None)


def _agent_date(rest, now):
    """(time, text) of an agent's HA_LOGFILE line after its tag: the date in
    resource-agents' HA_DATEFMT (xenha's ``%b %d %T``, or ``%Y/%m/%d_%T``), else no time."""
    m = _AGENT_DATES[0].match(rest)
    if m:
        return _syslog_time(m.group(1), m.group(2), m.group(3), now), m.group("msg")
    m = _AGENT_DATES[1].match(rest)
    if m:
        y, mo, d = (int(x) for x in m.groups()[:3])
        h, mi, s = (int(x) for x in m.group(4).split(":"))
        return time.mktime((y, mo, d, h, mi, s, 0, 0, -1)), m.group("msg")
    return None, rest


class _File:
    """One log file being read: its records from where the last read ended."""

    def __init__(self, path):
        self.path = path
        self.inode = None
        self.offset = 0
        self.partial = ""
        self.previous = None

    def read(self, here, tags):
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) != self.inode or st.st_size < self.offset:
                self.inode, self.offset, self.partial = (st.st_dev, st.st_ino), 0, ""
            with _open(self.path) as f:
                f.seek(self.offset)
                text = self.partial + f.read()
                self.offset = f.tell()
        except OSError:
            return []
        lines = text.split("\n")
        self.partial = lines.pop()  # an unfinished last line waits for its end
        found = []
        for line in lines:
            record = parse_line(line, self.path, self.previous, here=here)
            self.previous = record
            if is_ours(record.ident, tags):
                found.append(record)
        return found


def _open(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", errors="replace")
    return open(path, errors="replace")


def rotated(path, since=None):
    """The rotated copies of the log file ``path`` (``path.1``, ``path.2.gz``,
    ``path-20261201[.gz]``) last written at or after ``since`` (None: all), oldest first."""
    folder, name = os.path.split(path)
    pattern = re.compile(r"^%s(?:\.\d+|-\d{8})(?:\.gz)?$" % re.escape(name))
    found = []
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    for other in names:
        full = os.path.join(folder, other)
        if pattern.match(other):
            try:
                written = os.stat(full).st_mtime
            except OSError:
                continue
            if since is None or written >= since:
                found.append((written, full))
    return [full for _, full in sorted(found)]


class _Copies:
    """Tells a line that another file holds too (syslog and Pacemaker's file both get an
    agent's line) from a line written twice: a line is new while its file has held it
    more often than it was shown. Remembers the last ``keep`` lines."""

    def __init__(self, keep=10000):
        self.keep = keep
        self.lines = collections.OrderedDict()  # key -> {file: times read there}

    def new(self, record):
        key = (int(record.time or 0), record.ident, record.message)
        held = self.lines.pop(key, None) or collections.Counter()
        self.lines[key] = held  # now the most recent
        shown = max(held.values()) if held else 0
        held[record.source] += 1
        if len(self.lines) > self.keep:
            self.lines.popitem(last=False)
        return held[record.source] > shown


def from_files(paths, select, since=None, count=None, follow=False):
    """The records of ``paths`` that ``select`` keeps, oldest first (merged by time, a line
    that two files hold once): the last ``count`` (None: all) since ``since``, then, with
    ``follow``, each new one as it is written. With ``since`` or all lines asked for, the
    rotated copies written since then are read first (once: they are not followed)."""
    from xenha.deadline import Deadline

    if not paths:
        raise XenhaError(
            "no journal and no log file to read (looked for %s); give one with --file"
            % ", ".join(LOG_FILES[:3] + ("...",))
        )
    for path in paths:
        try:
            os.close(os.open(path, os.O_RDONLY))
        except OSError as e:
            raise XenhaError("cannot read the log file %s: %s" % (path, e.strerror)) from None
    here, tags = socket.gethostname(), set(identifiers())
    files = [_File(p) for p in collections.OrderedDict.fromkeys(paths)]
    records, copies = [], _Copies()
    if since is not None or count is None:
        for path in files:
            for old in rotated(path.path, since):
                records += _File(old).read(here, tags)
    for f in files:
        records += f.read(here, tags)
    records.sort(key=lambda r: r.time if r.time is not None else float("-inf"))
    kept = []
    for record in records:
        fresh = copies.new(record)
        if fresh and (since is None or (record.time or 0) >= since) and select(record):
            kept.append(record)
    if count is not None:
        kept = kept[len(kept) - count :] if count else []
    for record in kept:
        yield record
    if not follow:
        return
    forever = Deadline(float("inf"))
    while True:
        for f in files:
            for record in f.read(here, tags):
                if copies.new(record) and select(record):
                    yield record
        forever.sleep(POLL)
