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


def _run(argv, timeout):
    from xenha.process import CommandTimeout, run

    try:
        return run(argv, timeout)
    except OSError as e:
        raise PacemakerError("cannot run %s: %s" % (argv[0], e)) from None
    except CommandTimeout:
        raise PacemakerError("%s did not answer within %gs" % (argv[0], timeout)) from None


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
    argv = ["cibadmin", "--query"] + (["--scope", scope] if scope else [])
    rc, out, err = _run(argv, timeout)
    if rc != 0:
        why = "; ".join(line.strip() for line in err.splitlines() if line.strip())
        raise PacemakerError("%s failed (rc %d): %s" % (" ".join(argv), rc, why))
    return out


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


def fence_history(node, timeout=TOOL_TIMEOUT):
    """Every recorded fencing operation against ``node`` (``*``: every node), as the fencer
    tells it."""
    rc, out, err = _run(
        [
            "stonith_admin",
            "--history",
            node,
            "--verbose",
            "--output-as=xml",
            "--timeout",
            str(max(1, int(timeout))),
        ],
        timeout + 2,
    )
    if not out.strip():
        raise PacemakerError(
            "stonith_admin --history %s failed (rc %d): %s" % (node, rc, err.strip())
        )
    events = parse_fence_history(out)
    if rc != 0:
        raise PacemakerError("stonith_admin --history %s failed (rc %d)" % (node, rc))
    return events


def fenced_since(node, since, timeout=TOOL_TIMEOUT, margin=CLOCK_MARGIN):
    """The completion time of a successful power-off or reboot of ``node`` at least
    ``margin`` seconds after ``since`` (epoch seconds, another machine's clock: see
    CLOCK_MARGIN), or None when the history shows none."""
    done = [
        e.completed
        for e in fence_history(node, timeout)
        if e.target == node
        and e.status == "success"
        and e.action in ("off", "reboot")
        and e.completed is not None
        and e.completed >= since + margin
    ]
    return max(done) if done else None


def members(timeout=TOOL_TIMEOUT):
    """The names of the nodes in the cluster's membership now (``crm_node -l``: one
    ``ID NAME STATE`` line per known node, STATE ``member`` or ``lost``)."""
    rc, out, err = _run(["crm_node", "-l"], timeout)
    if rc != 0:
        raise PacemakerError("cannot list the cluster's nodes: crm_node -l: %s" % err.strip())
    rows = (line.split() for line in out.splitlines())
    return {row[1] for row in rows if len(row) >= 3 and row[2] == "member"}


def is_member(node, timeout=TOOL_TIMEOUT):
    """Whether ``node`` is in the cluster's membership now."""
    return node in members(timeout)


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
        value = env.get("OCF_RESKEY_CRM_meta_notify_%s_uname" % key, "")
        data[key] = value.split()
    return data


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


def set_promotion_score(instance, score, timeout=TOOL_TIMEOUT):
    """Set (an int, or "-INFINITY") or clear (None) this node's promotion score for ``instance``."""
    if score is None:
        argv = ["crm_attribute", "--promotion=" + instance, "--delete"]
    else:
        argv = ["crm_attribute", "--promotion=" + instance, "--update=%s" % score]
    rc, out, err = _run(argv, timeout)
    if rc != 0:
        raise PacemakerError("%s failed (rc %d): %s" % (" ".join(argv), rc, err.strip()))
