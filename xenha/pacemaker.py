"""What agents ask Pacemaker: this node's name, membership, the DC, notify data, fencing
history, promotion scores, the CIB.

Everything goes through Pacemaker's own command-line tools (``crm_node``,
``crmadmin``, ``stonith_admin``, ``crm_attribute``, ``cibadmin``), found on PATH, each
with a timeout. A tool that fails or times out is "cannot tell"
(:class:`PacemakerError`), never "no": in particular, no fencing history is ever read
as "was fenced".
"""

import os

from xenha.errors import XenhaError

TOOL_TIMEOUT = 10.0
USAGE = 64  # CRM_EX_USAGE: what a tool of Pacemaker 2.0 or later answers an unknown option


def refused_option(rc, err):
    """Whether a Pacemaker tool refused an option it does not know: CRM_EX_USAGE from
    2.0 on; on 1.1, exit 1 after getopt's complaint (crm_help('?', 1), lib/common/utils.c)."""
    low = err.lower()
    return rc == USAGE or (rc == 1 and ("unrecognized option" in low or "invalid option" in low))


def _feature_set(env):
    """The CRM feature set Pacemaker passes the agent (OCF_RESKEY_crm_feature_set), as a
    tuple, or None when it is not told (a command run by hand)."""
    import re

    m = re.match(r"(\d+)\.(\d+)", env.get("OCF_RESKEY_crm_feature_set", ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


# A fence counts as following a time only when it completed at least this many seconds
# after it: the completion is the fencer's clock, the time it must follow another host's
# (a VM's start, the VM host's; a host's last sign of life, the master's), and both are
# whole seconds. 2 s absorb the truncation (1 s) and a residual difference of 1 s between
# clocks that chrony/NTP keeps in sync (docs/agents.md: every dom0 must run it), and stay
# below the quickest a real loss is fenced (token + consensus, 2.86 s with the fast
# timing profile), so no genuine fence is refused because of the margin.
CLOCK_MARGIN = 2


class PacemakerError(XenhaError):
    """A Pacemaker tool did not answer or answered something unreadable."""


def _run(argv, timeout, env=None):
    from xenha.process import CommandTimeout, run

    try:
        return run(argv, timeout, env=env)
    except OSError as e:
        raise PacemakerError("cannot run %s: %s" % (argv[0], e)) from None
    except CommandTimeout:
        raise PacemakerError("%s did not answer within %gs" % (argv[0], timeout)) from None


def tool(argv, timeout=TOOL_TIMEOUT, env=None):
    """The standard output of a Pacemaker or corosync tool that must succeed; ``env``:
    the whole environment (``CIB_file`` points the CIB tools at a copy)."""
    rc, out, err = _run(argv, timeout, env)
    if rc != 0:
        why = "; ".join(line.strip() for line in err.splitlines() if line.strip())
        raise PacemakerError("%s failed (rc %d): %s" % (" ".join(argv), rc, why))
    return out


def parse_xml(text, what):
    """The root element of the XML document a tool printed in ``text`` (anything before its
    first ``<`` skipped); PacemakerError naming ``what`` when there is none."""
    import xml.etree.ElementTree as ET

    try:
        return ET.fromstring(text[text.index("<") :])
    except (ValueError, ET.ParseError) as e:
        raise PacemakerError("%s is no XML: %s" % (what, e)) from None


def cib(scope=None, timeout=TOOL_TIMEOUT):
    """The CIB as ``cibadmin --query`` prints it (XML text); ``scope``: one section only,
    such as ``configuration``."""
    return tool(["cibadmin", "--query"] + (["--scope", scope] if scope else []), timeout)


def primitives(cib_xml, agent):
    """``{resource id: {parameter: value}}`` of the primitives of ``agent``
    (``class:provider:type``, such as ``ocf:xenha:xen-vm``) in ``cib_xml``."""
    found = {}
    for prim in parse_xml(cib_xml, "the CIB").iter("primitive"):
        if "%s:%s:%s" % (prim.get("class"), prim.get("provider"), prim.get("type")) == agent:
            found[prim.get("id")] = {
                nv.get("name"): nv.get("value", "")
                for nv in prim.iterfind("instance_attributes/nvpair")
            }
    return found


def node_name(env=None, timeout=TOOL_TIMEOUT):
    """This node's Pacemaker name: what Pacemaker passed the agent, else ``crm_node -n``."""
    env = os.environ if env is None else env
    name = env.get("OCF_RESKEY_CRM_meta_on_node")
    if name:
        return name
    rc, out, err = _run(["crm_node", "-n"], timeout)
    if rc != 0 or not out.strip():
        raise PacemakerError("cannot tell this node's name: crm_node -n: %s" % err.strip())
    return out.strip()


class FenceEvent:
    """One entry of the fencing history: who was fenced how, when it completed, the node
    that ran the fence agent (``delegate``) and who asked for it (``client`` on
    ``origin``)."""

    def __init__(
        self,
        target,
        action,
        status,
        completed,
        delegate=None,
        origin=None,
        client=None,
        exit_reason=None,
    ):
        self.target = target
        self.action = action
        self.status = status  # success, failed or pending
        self.completed = completed  # seconds since the epoch, or None while pending
        self.delegate = delegate  # the node that executed it (None while pending)
        self.origin = origin  # the node the request came from
        self.client = client  # the requester: pacemaker-controld.PID, stonith_admin.PID
        self.exit_reason = exit_reason  # why it failed, when the fencer says
        # The latest epoch the completion may be: later than ``completed`` only for a
        # zoneless local time in the hour a clock change repeats (parse_text_fence_history).
        self.completed_latest = completed

    def as_dict(self):
        return {
            "target": self.target,
            "action": self.action,
            "status": self.status,
            "completed": self.completed,
            "delegate": self.delegate,
            "origin": self.origin,
            "client": self.client,
            "exit_reason": self.exit_reason,
        }

    def __repr__(self):
        return "FenceEvent(%r, %r, %r, %r)" % (
            self.target,
            self.action,
            self.status,
            self.completed,
        )


_STAMP = r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.\d+)?\s*(Z|([+-])(\d\d):?(\d\d))?$"


def parse_timestamp(text):
    """Seconds since the epoch of a Pacemaker time: ``2026-11-21 22:00:00Z`` or
    ``2026-11-21 23:00:00 +01:00`` (how crm_time_as_string prints a completed time)."""
    import calendar
    import re

    m = re.match(_STAMP, text.strip())
    if not m:
        raise PacemakerError("unreadable time in fencing history: %r" % text)
    y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    seconds = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if m.group(8):
        offset = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        seconds -= offset if m.group(8) == "+" else -offset
    return seconds


def parse_fence_history(xml_text):
    """The events of ``stonith_admin --history NODE --verbose --output-as=xml``.

    Raises PacemakerError when the document reports a failure (a ``status``
    element with a non-zero code, or ``fence_history status=...``).
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise PacemakerError("unreadable fencing history: %s" % e) from None
    status = root.find("status")
    if status is not None and status.get("code", "0") != "0":
        errors = "; ".join(e.text or "" for e in status.iter("error"))
        raise PacemakerError(
            "fencing history unavailable: %s%s"
            % (status.get("message", "error"), (": " + errors) if errors else "")
        )
    for failed in root.iter("fence_history"):
        if failed.get("status", "0") != "0":
            raise PacemakerError("fencing history unavailable (status %s)" % failed.get("status"))
    events = []
    for e in root.iter("fence_event"):
        completed = e.get("completed")
        events.append(
            FenceEvent(
                e.get("target"),
                e.get("action"),
                e.get("status"),
                parse_timestamp(completed) if completed else None,
                delegate=e.get("delegate"),
                origin=e.get("origin"),
                client=e.get("client"),
                exit_reason=e.get("exit-reason"),
            )
        )
    return events


# Formatted output (--output-as=xml) came with Pacemaker 2.0.2, whose feature set (3.1.0)
# is 2.0.0's and 2.0.1's too: those print only text and refuse the option, as 1.1 (3.0.14)
# does. Below 3.1 the text is read at once; from 3.1 on the XML is asked for, and the text
# only once the option is refused.
XML_HISTORY_FEATURE_SET = (3, 1)
# Their lines, from 1.1.23's fencing/admin.c (and 2.0.1's tools/stonith_admin.c), the time
# ctime()'s, local and without a zone; a pending one has no time.
_TEXT_EVENT = (
    r"^(?P<delegate>.+?) (?P<verb>was able to|failed to) (?P<action>turn on|turn off|\S+) "
    r"node (?P<target>\S+) on behalf of (?P<client>\S+) from (?P<origin>\S+) at "
    r"(?P<when>\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\s*$"
)
_TEXT_PENDING = (
    r"^(?P<client>\S+) at (?P<origin>\S+) wishes to (?P<action>turn on|turn off|\S+) "
    r"node (?P<target>\S+) - "
)
_OURSELVES = ("This node", "We")  # how the text names the node that ran stonith_admin


def fence_history(node, timeout=TOOL_TIMEOUT, env=None):
    """Every recorded fencing operation against ``node`` (``*``: every node), as the fencer
    tells it: its XML, or on Pacemaker 1.1 and 2.0.0-2.0.1 its text."""
    env = os.environ if env is None else env
    argv = ["stonith_admin", "--history", node, "--verbose"]
    wait = ["--timeout", str(max(1, int(timeout)))]
    known = _feature_set(env)
    if known is None or known >= XML_HISTORY_FEATURE_SET:
        rc, out, err = _run(argv + ["--output-as=xml"] + wait, timeout + 2)
        if not refused_option(rc, err):
            if not out.strip():
                raise PacemakerError(
                    "stonith_admin --history %s failed (rc %d): %s" % (node, rc, err.strip())
                )
            events = parse_fence_history(out)
            if rc != 0:
                raise PacemakerError("stonith_admin --history %s failed (rc %d)" % (node, rc))
            return events
    rc, out, err = _run(argv + wait, timeout + 2)
    if rc != 0:
        raise PacemakerError(
            "stonith_admin --history %s failed (rc %d): %s" % (node, rc, (err or out).strip())
        )
    return parse_text_fence_history(out)


def parse_text_fence_history(text):
    """The events of an old stonith_admin's ``--history NODE --verbose`` text. Its times
    are this machine's local time without a zone: each is read as the epoch that local
    time has; in the hour a clock change repeats, as the earlier one (``completed``: a
    fence then looks older, never newer, than it is, against another machine's time) with
    the later one kept (``completed_latest``: two fences are ordered only if they are in
    every reading); an unreadable line is "cannot tell"."""
    import re

    events = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("cleaning up", "gather fencing-history")):
            continue
        m = re.match(_TEXT_EVENT, line)
        if m:
            earliest, latest = _local_epochs(m.group("when"))
            ourselves = m.group("delegate") in _OURSELVES
            event = FenceEvent(
                m.group("target"),
                _text_action(m.group("action")),
                "success" if m.group("verb") == "was able to" else "failed",
                earliest,
                delegate=None if ourselves else m.group("delegate"),
                origin=m.group("origin"),
                client=m.group("client"),
            )
            event.completed_latest = latest
            events.append(event)
            continue
        m = re.match(_TEXT_PENDING, line)
        if not m:
            raise PacemakerError("unreadable fencing history line: %r" % line)
        events.append(
            FenceEvent(
                m.group("target"),
                _text_action(m.group("action")),
                "pending",
                None,
                origin=m.group("origin"),
                client=m.group("client"),
            )
        )
    return events


def _text_action(words):
    return {"turn on": "on", "turn off": "off"}.get(words, words)


def _local_epochs(text):
    """(earliest, latest) of the epochs whose local time is ``text`` (ctime's form): one
    and the same but in the hour a clock change repeats."""
    import time

    try:
        wall = time.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        raise PacemakerError("unreadable time in fencing history: %r" % text) from None
    found = []
    for dst in (0, 1):
        try:
            epoch = time.mktime(wall[:8] + (dst,))
        except (OverflowError, ValueError):
            continue
        if time.localtime(epoch)[:6] == wall[:6]:
            found.append(int(epoch))
    if not found:  # a local time the clock skipped: no epoch has it
        raise PacemakerError("fencing history time %r is no local time here" % text)
    return min(found), max(found)


def fenced_since(node, since, timeout=TOOL_TIMEOUT, margin=CLOCK_MARGIN, latest=False):
    """The completion time of a successful power-off or reboot of ``node`` at least
    ``margin`` seconds after ``since`` (epoch seconds, another machine's clock: see
    CLOCK_MARGIN), or None when the history shows none. A time the history cannot pin
    down is read as early as it may be, or with ``latest`` as late."""
    done = [
        e.completed_latest if latest else e.completed
        for e in fence_history(node, timeout)
        if e.target == node
        and e.status == "success"
        and e.action in ("off", "reboot")
        and e.completed is not None
        and e.completed >= since + margin
    ]
    return max(done) if done else None


def nodes(timeout=TOOL_TIMEOUT):
    """``{name: state}`` of every node the cluster knows (``crm_node -l``: one ``ID NAME
    STATE`` line per known node, STATE ``member`` or ``lost``)."""
    rc, out, err = _run(["crm_node", "-l"], timeout)
    if rc != 0:
        raise PacemakerError("cannot list the cluster's nodes: crm_node -l: %s" % err.strip())
    rows = (line.split() for line in out.splitlines())
    return {row[1]: row[2] for row in rows if len(row) >= 3}


def members(timeout=TOOL_TIMEOUT):
    """The names of the nodes in the cluster's membership now."""
    return {name for name, state in nodes(timeout).items() if state == "member"}


def is_member(node, timeout=TOOL_TIMEOUT):
    """Whether ``node`` is in the cluster's membership now."""
    return node in members(timeout)


def quorum(timeout=TOOL_TIMEOUT):
    """Votequorum as ``corosync-quorumtool -s -p`` prints it: total votes, the quorum,
    and each member's votes ({name: votes}; a quorum device's as ``Qdevice``)."""
    rc, out, err = _run(["corosync-quorumtool", "-s", "-p"], timeout)
    found, votes = {}, {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("Total votes", "Quorum") and value.split():
            found[key.strip()] = value.split()[0]
        words = line.split()  # Nodeid Votes Qdevice Name [(local)]; "0 1 Qdevice"
        if len(words) >= 3 and words[0].isdigit() and words[1].isdigit():
            votes[words[2] if len(words) == 3 else words[3]] = int(words[1])
    if not all(found.get(k, "").isdigit() for k in ("Total votes", "Quorum")):
        raise PacemakerError("corosync-quorumtool -s: %s" % (err or out).strip()[:200])
    return {"total": int(found["Total votes"]), "quorum": int(found["Quorum"]), "votes": votes}


def designated_controller(timeout=TOOL_TIMEOUT):
    """The DC's node name, as it answers the local controller's ping (``crmadmin -D``,
    the same text from Pacemaker 1.1 to 3.0); PacemakerError while there is none (an
    election) or the controller cannot be asked."""
    import re

    ms = str(max(1, int(timeout * 1000)))
    rc, out, err = _run(["crmadmin", "--dc_lookup", "--timeout", ms], timeout + 2)
    m = re.search(r"Designated Controller is: (\S+)", out + err)
    if rc != 0 or not m:
        raise PacemakerError("no DC known: crmadmin --dc_lookup: %s" % (err or out).strip())
    return m.group(1)


def notify_data(env):
    """The notification of a clone ``notify`` action: its type (pre/post), operation,
    and the node names of each list Pacemaker passes (``promote``, ``demote``, ...)."""
    data = {
        "type": env.get("OCF_RESKEY_CRM_meta_notify_type", ""),
        "operation": env.get("OCF_RESKEY_CRM_meta_notify_operation", ""),
    }
    for key in ("start", "stop", "promote", "demote", "active", "promoted", "unpromoted"):
        value = env.get("OCF_RESKEY_CRM_meta_notify_%s_uname" % key)
        if value is None and key in OLD_NOTIFY_NAMES:  # Pacemaker 1.1 and 2.0
            value = env.get("OCF_RESKEY_CRM_meta_notify_%s_uname" % OLD_NOTIFY_NAMES[key])
        data[key] = (value or "").split()
    return data


# The notify lists Pacemaker 2.1 renamed (and 3.0 no longer passes under the old names).
OLD_NOTIFY_NAMES = {"promoted": "master", "unpromoted": "slave"}


# crm_attribute --query of an attribute that is not set: CRM_EX_NOSUCH (Pacemaker >= 2.1),
# ENODATA before.
NOT_SET = (105, 6)


def set_node_attribute(name, value, timeout=TOOL_TIMEOUT):
    """Set (a string) or clear (None) this node's transient attribute ``name`` (lifetime
    reboot: the cluster drops it when the node leaves, so it speaks of this boot only)."""
    argv = ["crm_attribute", "--name=" + name, "--lifetime=reboot"]
    argv.append("--delete" if value is None else "--update=" + value)
    rc, out, err = _run(argv, timeout)
    if rc != 0:
        raise PacemakerError("%s failed (rc %d): %s" % (" ".join(argv), rc, err.strip()))


def node_attribute(node, name, timeout=TOOL_TIMEOUT):
    """``node``'s transient attribute ``name``; None when it is not set."""
    argv = ["crm_attribute", "--node=" + node, "--name=" + name, "--lifetime=reboot"]
    rc, out, err = _run(argv + ["--query", "--quiet"], timeout)
    if rc == 0:
        return out.strip()
    if rc in NOT_SET:
        return None
    raise PacemakerError("%s failed (rc %d): %s" % (" ".join(argv), rc, err.strip()))


# crm_attribute --promotion came with Pacemaker 2.1.0 (feature set 3.10.0); 2.0.5, the
# last 2.0, has 3.6.1 and refuses it (CRM_EX_USAGE). There, as crm_master -l reboot does,
# the score is the node attribute master-<instance>, the name --promotion sets too
# (pcmk_promotion_score_name, still so in 3.0) and the scheduler reads.
LEGACY_FEATURE_SET = (3, 7)  # below: no --promotion, and Master/Slave role names


def before_2_1(env):
    """Whether the Pacemaker that runs this agent says (by its feature set) it predates
    2.1; False when it says nothing."""
    known = _feature_set(env)
    return known is not None and known < LEGACY_FEATURE_SET


def set_promotion_score(instance, score, timeout=TOOL_TIMEOUT, env=None):
    """Set (an int, or "-INFINITY") or clear (None) this node's promotion score for
    ``instance``: with ``--promotion`` where crm_attribute has it, else (Pacemaker 1.1
    and 2.0, told by the feature set or by crm_attribute's refusal) the attribute."""
    env = os.environ if env is None else env
    change = "--delete" if score is None else "--update=%s" % score
    legacy = ["crm_attribute", "--name=master-" + instance, "--lifetime=reboot", change]
    if before_2_1(env):
        argv = legacy
    else:
        argv = ["crm_attribute", "--promotion=" + instance, change]
    rc, out, err = _run(argv, timeout)
    if refused_option(rc, err) and argv is not legacy:
        argv = legacy
        rc, out, err = _run(argv, timeout)
    if rc != 0:
        raise PacemakerError("%s failed (rc %d): %s" % (" ".join(argv), rc, err.strip()))
