"""What happened when, from Pacemaker's own alerts.

The lab configures a Pacemaker alert whose agent appends one line per event
(node lost/member, fencing result, resource operation) with Pacemaker's
microsecond timestamp. Alert agents run as ``hacluster``, which cannot run the
virtualenv's Python (it lives under root's home), so the recorder is a
four-line shell script.
"""

import shutil
from pathlib import Path

from xenha.lab.hosts import STATE

EVENTS = STATE / "events.tsv"
RECORDER = STATE / "bin" / "record-alert"
FIELDS = ("t", "kind", "node", "desc", "rsc", "task", "rc", "target_rc", "seen_by")

RECORDER_SCRIPT = """\
#!/bin/sh
# Pacemaker alert agent of the xenha lab: one tab-separated line per event.
printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$CRM_alert_timestamp" "$CRM_alert_kind" \\
  "$CRM_alert_node" "$CRM_alert_desc" "$CRM_alert_rsc" "$CRM_alert_task" "$CRM_alert_rc" \\
  "$CRM_alert_target_rc" "$(hostname)" >> "$CRM_alert_recipient"
"""

# crmsh text for the alert; Pacemaker's %N extension gives the fractional seconds.
CRM_ALERT = 'alert lab-timeline "{recorder}" meta timestamp-format="%s.%06N" to "{events}"\n'


def install_recorder():
    """Write the recorder and an events file the ``hacluster`` user may append to."""
    RECORDER.parent.mkdir(parents=True, exist_ok=True)
    RECORDER.write_text(RECORDER_SCRIPT)
    RECORDER.chmod(0o755)
    EVENTS.touch()
    shutil.chown(EVENTS, "hacluster", "haclient")
    return CRM_ALERT.format(recorder=RECORDER, events=EVENTS)


class Event:
    def __init__(self, fields):
        for name, value in zip(FIELDS, fields):
            setattr(self, name, value)
        self.t = float(self.t)

    def __repr__(self):
        return "Event(%s)" % ", ".join("%s=%r" % (f, getattr(self, f)) for f in FIELDS)


def events(path=EVENTS):
    """Every recorded event, oldest first (several nodes may report the same one)."""
    out = []
    for line in Path(path).read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == len(FIELDS):
            try:
                out.append(Event(fields))
            except ValueError:
                continue
    return sorted(out, key=lambda e: e.t)


def first(evts, since, **match):
    """Time of the first event after ``since`` whose fields equal ``match``, or None."""
    for e in evts:
        if e.t >= since and all(getattr(e, k) == v for k, v in match.items()):
            return e.t
    return None
