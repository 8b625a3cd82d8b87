"""``xenha maintenance on|off``: the cluster-wide "disable HA" switch, which expires.

On is Pacemaker's own ``maintenance-mode=true``, in a cluster property set of its
own (:data:`SET_ID`) whose rule holds only until the end time (an explicit value in
another set would win, so on removes it, and checks on a copy that it took effect): Pacemaker itself
turns it off then (it rechecks at the end of a date rule; Pacemaker older than
2.0.3 at the next cluster-recheck-interval), even if nobody is there to do it.
The set also says why and by whom, for ``xenha status``. Off re-probes every
resource while still in maintenance (VMs moved by hand are found where they are),
previews what Pacemaker would do once it manages again, then removes the set.
"""

import time
import xml.etree.ElementTree as ET

from xenha import values
from xenha.errors import XenhaError

SET_ID = "xenha-maintenance"
SCORE = "1000"  # before other sets with a score; cib-bootstrap-options comes first anyway
DEFAULT_FOR = 4 * 3600.0
FIELDS = ("reason", "by", "since")  # xenha-maintenance-<field>: read back by status


def element(until, reason, by, since=None):
    """The property set as XML text: maintenance-mode=true until ``until`` (epoch s)."""
    since = time.time() if since is None else since
    s = ET.Element("cluster_property_set", id=SET_ID, score=SCORE)
    rule = ET.SubElement(s, "rule", id=SET_ID + "-rule", score="INFINITY")
    ET.SubElement(rule, "date_expression", id=SET_ID + "-until", operation="lt", end=_iso(until))
    ET.SubElement(s, "nvpair", id=SET_ID + "-mode", name="maintenance-mode", value="true")
    for field, value in zip(FIELDS, (reason, by, _iso(since))):
        name = "%s-%s" % (SET_ID, field)
        ET.SubElement(s, "nvpair", id=name, name=name, value=value or "")
    return ET.tostring(s, encoding="unicode")


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def duration(text):
    """Seconds of ``--for`` (90s, 30m, 4h; at least a minute)."""
    try:
        seconds = values.duration(text)
    except ValueError as e:
        raise XenhaError("--for: %s" % e) from None
    if seconds < 60:
        raise XenhaError("--for: at least 1 minute (got %gs)" % seconds)
    return seconds


def others(cib_root):
    """[(nvpair id, value)] of maintenance-mode set outside xenha's set. An explicit
    value there wins over xenha's: Pacemaker reads cib-bootstrap-options first."""
    return [
        (nv.get("id"), nv.get("value"))
        for s in cib_root.iter("cluster_property_set")
        if s.get("id") != SET_ID
        for nv in s.iter("nvpair")
        if nv.get("name") == "maintenance-mode"
    ]


def state(cib_root, now=None):
    """Maintenance in a CIB (its configuration or all of it): ``on``, ``manual`` (set
    outside xenha, with no end), and xenha's ``until`` (epoch s), ``reason``, ``by``,
    ``since``; ``expired`` when xenha's set is there but its end has passed."""
    now = time.time() if now is None else now
    sets = list(cib_root.iter("cluster_property_set"))
    manual = any(values.is_true(value) for _, value in others(cib_root))
    out = {"on": manual, "manual": manual, "until": None, "expired": False}
    out.update((f, "") for f in FIELDS)
    mine = next((s for s in sets if s.get("id") == SET_ID), None)
    if mine is not None:
        fields = {nv.get("name"): nv.get("value") or "" for nv in mine.iter("nvpair")}
        out.update((f, fields.get("%s-%s" % (SET_ID, f), "")) for f in FIELDS)
        end = mine.find("rule/date_expression")
        out["until"] = _epoch(end.get("end", "")) if end is not None else None
        active = out["until"] is not None and now < out["until"]
        out.update(on=manual or active, expired=not active)
    return out


def _epoch(iso):
    """Epoch seconds of the end xenha wrote; None if it is not in that form."""
    import calendar

    try:
        return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


REMINDED = SET_ID + "-reminded"  # a property set of its own: when the last reminder went
REMIND_EVERY = 3600.0


def reminder(cib_root, now=None):
    """The text of a reminder due now (maintenance on, none mailed yet since it went on
    or for REMIND_EVERY), or None."""
    now = time.time() if now is None else now
    st = state(cib_root, now)
    if not st["on"]:
        return None
    last = None
    for s in cib_root.iter("cluster_property_set"):
        if s.get("id") == REMINDED:
            for nv in s.iter("nvpair"):
                last = _epoch(nv.get("value", ""))
    since = _epoch(st["since"]) if st["since"] else None
    if last is not None and now - last < REMIND_EVERY and (since is None or last >= since):
        return None
    if st["manual"]:
        return "maintenance-mode is on (set outside xenha, with no end): HA is off"
    return "maintenance is on until %s%s: HA is off" % (
        _iso(st["until"]) if st["until"] else "?",
        " (%s, by %s)" % (st["reason"] or "no reason given", st["by"] or "?"),
    )


def reminded_element(now=None):
    """The property set that says a reminder went at ``now``."""
    s = ET.Element("cluster_property_set", id=REMINDED)
    value = _iso(time.time() if now is None else now)
    ET.SubElement(s, "nvpair", id=REMINDED + "-at", name=REMINDED + "-at", value=value)
    return ET.tostring(s, encoding="unicode")
