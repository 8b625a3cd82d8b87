"""The lab's Pacemaker alert recorder: what happened when, from Pacemaker's own alerts.

``Lab.configure`` adds a Pacemaker alert whose agent appends one tab-separated line
per event (node lost/member, fencing result, resource operation) to EVENTS, with
Pacemaker's microsecond timestamp; :mod:`xenha.lab.scenarios.evidence` reads them.
Alert agents run as ``hacluster``, which cannot run the virtualenv's Python (it lives
under root's home), so the recorder is a four-line shell script.
"""

import os

from xenha.lab.hosts import STATE

EVENTS = STATE / "events.tsv"
SCRIPT = STATE / "bin" / "record-alert"
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


def install(owner=None):
    """Write the recorder and an events file the ``hacluster`` user may append to
    (``owner``: its uid and gid where the hosts run; default this machine's); the crm text
    of the alert that runs it."""
    from xenha.lab import stacks

    owner = owner or stacks.cluster_ids(None)
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text(RECORDER_SCRIPT)
    SCRIPT.chmod(0o755)
    EVENTS.touch()
    os.chown(EVENTS, *owner)
    return CRM_ALERT.format(recorder=SCRIPT, events=EVENTS)
