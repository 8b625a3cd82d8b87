"""`xenha check`: a pool host's preflight, before a configuration is loaded and any
time after. Each check says ok, warning or critical (crm_mon -s's levels) and why;
a source that does not answer is "cannot tell", never a pass.

The checks: no second HA manager (XenServer's own pool HA, HA-Lizard or iSCSI-HA
still running here), secrets in root-only files and none inline in the CIB, every
node's fencing answers a status probe, the quorum arbiter is connected, the hosts'
clocks agree (fencing history is compared across machines: xenha.pacemaker
CLOCK_MARGIN), every node runs this xenha, and the cluster stack is one xenha
supports.
"""

import collections
import os
import re
import time

from xenha.errors import XenhaError
from xenha.status import CRITICAL, OK, VERDICTS, WARNING

# One result: ``level`` (OK, WARNING, CRITICAL), the ``check``'s name, ``what`` it found.
Finding = collections.namedtuple("Finding", "level check what")

# The HA managers xenha replaces: their services and the scripts their daemons run.
RIVAL_UNITS = ("ha-lizard", "ha-lizard-watchdog", "iscsi-ha", "iscsi-ha-watchdog")
RIVAL_PATHS = ("/etc/ha-lizard/", "/etc/iscsi-ha/")
# CIB parameters that name a secret file, and whether a group (haclient) may read it:
# Pacemaker runs alert agents as hacluster (xenha.secrets.read_file).
SECRET_FILES = {"password_file": False, "xapi_password_file": False, "smtp_password_file": True}
INLINE_SECRETS = ("password", "passwd", "community")
# The clocks may differ by less than this (xenha.pacemaker.CLOCK_MARGIN absorbs 1 s).
CLOCK_SKEW = 1.0
# The stacks xenha runs on (docs/platforms.md): Pacemaker 2.0 to 3.0, Corosync 3, Python
# 3.6 and newer.
PACEMAKER = ((2, 0), (3, 0))
# What the generator's 1.1 target (CentOS 7's stack) runs on: a warning, not a refusal.
LEGACY = {
    "Pacemaker": "a generator target (cluster.pacemaker: 1.1), checked by its schema only",
    "Corosync": "the 1.1 target's Corosync (udpu)",
}
COROSYNC = ((3, 0), (3, 99))
PYTHON = (3, 6)


def rivals(proc="/proc", unit_active=None):
    """HA-Lizard or iSCSI-HA still at work on this host: a unit active, or a process
    running one of their scripts. Two HA managers would fence and start VMs twice."""
    found = []
    for unit in RIVAL_UNITS:
        if unit_active and unit_active(unit):
            found.append("service %s is active" % unit)
    for pid in sorted(p for p in os.listdir(proc) if p.isdigit()):
        try:
            with open(os.path.join(proc, pid, "cmdline"), "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if any(arg.startswith(RIVAL_PATHS) for arg in argv):
            found.append("process %s runs %s" % (pid, " ".join(a for a in argv if a)[:80]))
    if found:
        return [
            Finding(
                CRITICAL,
                "other HA managers",
                "; ".join(found) + ": stop and disable HA-Lizard / iSCSI-HA first",
            )
        ]
    return [Finding(OK, "other HA managers", "no HA-Lizard or iSCSI-HA at work here")]


def _unit_active(unit):
    """Whether systemd says ``unit`` is active (False without systemd)."""
    from xenha import process

    try:
        rc, out, _ = process.run(["systemctl", "is-active", unit], 10)
    except (OSError, process.CommandTimeout):
        return False
    return rc == 0 and out.strip() == "active"


def pool_ha(ha_enabled):
    """XenServer's own pool HA (pool.ha_enabled) beside the cluster: two HA managers."""
    if ha_enabled:
        return [
            Finding(
                CRITICAL,
                "XenServer pool HA",
                "the pool's own HA is enabled: two HA managers would fight; disable it "
                "(xe pool-ha-disable) before the cluster manages the pool",
            )
        ]
    return [Finding(OK, "XenServer pool HA", "disabled")]


def secrets(cib_root, read=None):
    """Every secret file the CIB names can be read and is closed to others; no secret
    is written into the CIB itself (whoever reads the CIB would have it)."""
    from xenha import secrets as s

    read = read or s.read_file
    out = []
    for prim in list(cib_root.iter("primitive")) + list(cib_root.iter("alert")):
        for nv in prim.iter("nvpair"):
            name, value = nv.get("name"), nv.get("value") or ""
            where = "%s %s" % (prim.get("id"), name)
            if name in INLINE_SECRETS and value:
                out.append(
                    Finding(CRITICAL, "secrets", "%s: a secret written into the CIB" % where)
                )
            elif name in SECRET_FILES and value:
                try:
                    read(value, where, group_may_read=SECRET_FILES[name])
                except XenhaError as e:
                    out.append(Finding(CRITICAL, "secrets", str(e)))
    return out or [Finding(OK, "secrets", "every secret file is readable and closed to others")]


def fencing(nodes, cib_xml, probe=None):
    """Each node's fence devices answer a status probe (xenha.fence_drill), level by
    level; nothing is switched."""
    from xenha import fence_drill

    probe = probe or fence_drill.probe
    out = []
    for node in nodes:
        try:
            result = probe(node, cib_xml=cib_xml)
        except XenhaError as e:
            out.append(Finding(CRITICAL, "fencing " + node, "cannot tell: %s" % e))
            continue
        level = min(
            fence_drill.exit_code(result),
            CRITICAL if not fence_drill.can_fence(result) else WARNING,
        )
        out.append(Finding(level, "fencing " + node, result["summary"]))
    return out


def arbiter(quorum, qdevice_status):
    """The quorum device, where there is one, is connected to its qnetd arbiter.

    ``quorum``: :func:`xenha.pacemaker.quorum` or its error; ``qdevice_status``:
    ``corosync-qdevice-tool -s`` output or its error."""
    if isinstance(quorum, Exception):
        return [Finding(CRITICAL, "quorum", "cannot tell: %s" % quorum)]
    if "Qdevice" not in quorum["votes"]:
        return [
            Finding(
                OK,
                "quorum",
                "no arbiter configured (%d votes, quorum %d)" % (quorum["total"], quorum["quorum"]),
            )
        ]
    if isinstance(qdevice_status, Exception):
        return [Finding(CRITICAL, "quorum arbiter", "cannot tell: %s" % qdevice_status)]
    state = re.search(r"^\s*State:\s*(.+)$", qdevice_status, re.M)
    if state and state.group(1).strip() == "Connected":
        return [Finding(OK, "quorum arbiter", "connected")]
    said = state.group(1).strip() if state else "no state"
    return [
        Finding(
            CRITICAL, "quorum arbiter", "not connected (%s): a split would stop both halves" % said
        )
    ]


def clocks(readings):
    """Each host's clock against this one's. ``readings``: {host: (before, its time,
    after)}, this host's clock read just before and after asking (host.get_servertime,
    whole seconds), or the error. The skew lies between ``time - after`` and ``time + 1
    - before``; only a skew surely beyond :data:`CLOCK_SKEW` is reported."""
    out = []
    for host, reading in sorted(readings.items()):
        if isinstance(reading, Exception):
            out.append(Finding(WARNING, "clock " + host, "cannot tell: %s" % reading))
            continue
        before, theirs, after = reading
        low, high = theirs - after, theirs + 1 - before
        if low > CLOCK_SKEW or high < -CLOCK_SKEW:
            skew = low if low > CLOCK_SKEW else high
            out.append(
                Finding(
                    CRITICAL,
                    "clock " + host,
                    "%+.0f s off this host's: fencing history is compared across clocks; "
                    "run chrony/NTP on every dom0" % skew,
                )
            )
    return out or [Finding(OK, "clocks", "every host within %g s of this one" % CLOCK_SKEW)]


def versions(told, mine):
    """Every node runs this xenha (the version each node's xapi-pool-master told:
    :data:`xenha.pool_agent.VERSION`; None: not told, e.g. no instance running there)."""
    out = []
    for node, version in sorted(told.items()):
        if isinstance(version, Exception):
            out.append(Finding(WARNING, "xenha " + node, "cannot tell: %s" % version))
        elif version is None:
            out.append(Finding(WARNING, "xenha " + node, "not told (no pool-master instance)"))
        elif version != mine:
            out.append(
                Finding(CRITICAL, "xenha " + node, "runs %s, this node %s" % (version, mine))
            )
    return out or [Finding(OK, "xenha versions", "every node runs %s" % mine)]


def _version(text):
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def stack(pacemaker_text, corosync_text, python=None):
    """The cluster stack's versions against those xenha supports."""
    import sys

    python = python or sys.version_info[:3]
    out = []
    for name, text, (low, high), legacy in (
        ("Pacemaker", pacemaker_text, PACEMAKER, (1, 1)),
        ("Corosync", corosync_text, COROSYNC, (2, 4)),
    ):
        v = _version(text) if not isinstance(text, Exception) else None
        if v is None:
            out.append(Finding(CRITICAL, name, "cannot tell its version: %s" % text))
        elif v[:2] == legacy:
            what = "%s: %s; xenha is not tested on it (docs/platforms.md)"
            out.append(Finding(WARNING, name, what % (".".join(map(str, v)), LEGACY[name])))
        elif v[:2] < low:
            out.append(
                Finding(
                    CRITICAL,
                    name,
                    "%s is older than xenha supports (%d.%d)"
                    % (".".join(map(str, v)), low[0], low[1]),
                )
            )
        elif v[:2] > high:
            out.append(
                Finding(
                    WARNING,
                    name,
                    "%s is newer than xenha was tested with" % (".".join(map(str, v))),
                )
            )
        elif name == "Pacemaker" and v[:2] == (2, 0) and v < (2, 0, 4):
            what = (
                "%s has no priority-fencing-delay (2.0.4 has): the 2.0 target writes it, so a "
                "two_node cluster's fence race has no delay here (docs/platforms.md)"
            )
            out.append(Finding(WARNING, name, what % ".".join(map(str, v))))
        else:
            out.append(Finding(OK, name, ".".join(map(str, v))))
    if tuple(python[:2]) < PYTHON:
        out.append(Finding(CRITICAL, "Python", "%d.%d is older than 3.6" % tuple(python[:2])))
    return out


def exit_code(findings):
    return max([OK] + [f.level for f in findings])


def as_data(findings):
    """The findings as the JSON ``--json`` prints (:data:`SCHEMA`)."""
    return {
        "verdict": VERDICTS[exit_code(findings)],
        "checks": [
            {"level": VERDICTS[f.level], "check": f.check, "what": f.what} for f in findings
        ],
    }


def render(findings, color=False):
    """One line per check, 80 columns, worst first."""
    import textwrap

    paint = {CRITICAL: "\033[31m", WARNING: "\033[33m", OK: "\033[32m"} if color else {}
    reset = "\033[0m" if color else ""
    lines = []
    for f in sorted(findings, key=lambda f: -f.level):
        head = "%-8s %-20s " % (VERDICTS[f.level].upper(), f.check[:20])
        body = textwrap.wrap(f.what, 80 - len(head)) or [""]
        lines.append(paint.get(f.level, "") + head + body[0] + reset)
        lines += [" " * len(head) + more for more in body[1:]]
    verdict = exit_code(findings)
    lines.append("%sxenha check: %s%s" % (paint.get(verdict, ""), VERDICTS[verdict].upper(), reset))
    return "\n".join(lines) + "\n"


SCHEMA = {
    "type": "object",
    "required": ["verdict", "checks"],
    "properties": {
        "verdict": {"enum": sorted(VERDICTS.values())},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["level", "check", "what"],
                "properties": {
                    "level": {"enum": sorted(VERDICTS.values())},
                    "check": {"type": "string"},
                    "what": {"type": "string"},
                },
            },
        },
    },
}


def epoch_of(value):
    """Epoch seconds of an XAPI DateTime (XML-RPC's object or its text)."""
    import calendar

    text = str(getattr(value, "value", value)).replace("-", "").replace(":", "")
    m = re.match(r"(\d{8})T(\d{6})", text)
    if not m:
        raise ValueError("unreadable time %r" % (value,))
    return calendar.timegm(time.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S"))


def _read_pool(params):
    """(pool.ha_enabled, {host: (before, its clock, after) or the error}) through XAPI."""
    from xenha import status
    from xenha.xapi import Client

    with Client(status.settings_of(params), originator="xenha-check", cache_dir=None) as c:
        api = c.xenapi
        ha = any(rec["ha_enabled"] for rec in api.pool.get_all_records().values())
        readings = {}
        for ref, rec in api.host.get_all_records().items():
            try:
                before = time.time()
                theirs = epoch_of(api.host.get_servertime(ref))
                readings[rec["name_label"]] = (before, theirs, time.time())
            except (XenhaError, ValueError) as e:
                readings[rec["name_label"]] = e
    return ha, readings


def _tool_text(argv):
    from xenha import pacemaker

    try:
        rc, out, err = pacemaker._run(argv, 10)
    except XenhaError as e:
        return e
    return out + err if rc == 0 else XenhaError("%s: %s" % (argv[0], (err or out).strip()))


def gather(cib_xml=None, nodes=None):
    """Every check, on this host. ``cib_xml`` and its ``nodes``: the configuration to
    check (a generated one, before it is loaded); default the live CIB."""
    import xml.etree.ElementTree as ET

    from xenha import __version__, pacemaker
    from xenha.pool_agent import VERSION

    findings = rivals(unit_active=_unit_active)
    live = cib_xml is None
    if live:
        try:
            cib_xml = pacemaker.cib()
        except XenhaError as e:
            return findings + [Finding(CRITICAL, "cluster", "cannot tell: %s" % e)]
    root = ET.fromstring(cib_xml)
    if nodes is None:
        nodes = [n.get("uname") for n in root.iter("node") if n.get("uname")]
    master = next((p for p in root.iter("primitive") if p.get("type") == "xapi-pool-master"), None)
    params = {}
    if master is not None:
        params = {nv.get("name"): nv.get("value") for nv in master.iter("nvpair")}
    try:
        ha, readings = _read_pool(params)
        findings += pool_ha(ha) + clocks(readings)
    except XenhaError as e:
        findings.append(Finding(CRITICAL, "pool", "cannot tell: %s" % e))
    findings += secrets(root)
    findings += fencing(nodes, cib_xml)
    try:
        quorum = pacemaker.quorum()
    except XenhaError as e:
        quorum = e
    findings += arbiter(quorum, _tool_text(["corosync-qdevice-tool", "-s"]))
    if live:
        told = {}
        for node in nodes:
            try:
                told[node] = pacemaker.node_attribute(node, VERSION)
            except XenhaError as e:
                told[node] = e
        findings += versions(told, __version__)
    findings += stack(_tool_text(["pacemakerd", "--version"]), _tool_text(["corosync", "-v"]))
    return findings
