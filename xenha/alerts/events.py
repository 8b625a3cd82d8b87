"""Which Pacemaker alerts are worth a mail, and what the mail says."""

import re

# Resource ids the generator gives (xenha/crm/plan.py): a VM is `vm-NAME`.
VM_PREFIX = "vm-"
POOL_MASTER = "pool-master"
STORAGE = "storage"

# Not a Pacemaker kind: the event `xenha alert test` mails (xenha/alerts/drill.py).
TEST = "test"
# Nor this: an invalid setting in the pool, mailed once by `xenha vm follow` (xenha.protection).
SETTING = "setting"
# Nor this: maintenance still on, mailed hourly by `xenha vm follow` (xenha.maintenance).
MAINTENANCE = "maintenance"

# Pacemaker's execution status codes (CRM_alert_status).
EXEC_DONE, EXEC_CANCELLED = 0, 1
# What a probe (a one-off monitor) may find without anything being wrong:
# running, not running, running promoted.
PROBE_FINDINGS = (0, 7, 8)
# Successful operations worth telling about (for VMs; promote also for the storage).
NEWS = {"start": "started on", "migrate_from": "migrated to", "promote": "promoted on"}


class Event:
    """One alert as Pacemaker passed it (``CRM_alert_*``), values stripped of line breaks."""

    def __init__(self, env):
        def get(name):
            return " ".join(env.get("CRM_alert_" + name, "").split())

        self.kind = get("kind")
        self.node = get("node")
        self.desc = get("desc")
        self.rsc = get("rsc")
        self.task = get("task")
        self.rc = _int(get("rc"))
        self.target_rc = _int(get("target_rc"))
        self.status = _int(get("status"))
        self.interval = _int(get("interval")) or 0
        self.timestamp = get("timestamp")
        self.recipient = get("recipient")
        if self.kind == "fencing":
            # Pacemaker passes its notification's name as the task (st_notify_fence); the
            # action is in the description: "Operation reboot of xs1 by xs2 for ...".
            action = re.match(r"Operation (\S+) of ", self.desc)
            self.task = action.group(1) if action else self.task

    def summary(self):
        """``(outcome, subject)`` for a significant event, ``None`` for a routine one.

        The outcome is the part of the duplicate-suppression key that tells two
        events about the same node and resource apart (``lost``, ``off:ok``...).
        """
        if self.kind == "node":
            if self.desc == "lost":
                return "lost", "host %s lost: it left the cluster" % self.node
            return None  # a node joining is routine
        if self.kind == "fencing":
            if self.rc == 0:
                return self.task + ":ok", "host %s fenced (%s)" % (self.node, self.task)
            return self.task + ":failed", "FENCING of host %s FAILED (%s)" % (
                self.node,
                self.task,
            )
        if self.kind == "resource":
            return self._resource()
        if self.kind == SETTING:
            return "invalid", self.desc
        if self.kind == MAINTENANCE:
            return "reminder", self.desc
        if self.kind == TEST:
            return "test", "test mail from %s: alerts reach %s" % (self.node, self.recipient)
        return None  # attribute changes and kinds this agent does not know

    def takes_node_out(self):
        """Whether the event removes its node from the cluster: its loss, or a fence that
        powered it off."""
        if self.kind == "node":
            return self.desc == "lost"
        return self.kind == "fencing" and self.rc == 0 and self.task in ("off", "reboot")

    def _resource(self):
        if self.status == EXEC_CANCELLED or self.rc is None:
            return None
        base = self.rsc.split(":")[0]  # a clone instance (pool-master:1) is its primitive
        vm = base.startswith(VM_PREFIX)
        what = ("VM " if vm else "resource ") + self.rsc
        ok = self.status == EXEC_DONE and self.rc == self.target_rc
        if self.task == "monitor" and (ok or (self.interval == 0 and self.rc in PROBE_FINDINGS)):
            return None  # checks that passed, and probes, whichever state they find
        if not ok:
            verb = {"start": "failed to start", "stop": "failed to stop"}.get(
                self.task, "%s failed" % self.task
            )
            return self.task + ":failed", "%s %s on %s: %s" % (what, verb, self.node, self.desc)
        if self.task == "promote" and base == POOL_MASTER:
            return "promote:ok", "host %s is now the pool master" % self.node
        if self.task in NEWS and (vm or (self.task == "promote" and base == STORAGE)):
            return self.task + ":ok", "%s %s %s" % (what, NEWS[self.task], self.node)
        return None  # stops, demotes, fence devices and ping starting: routine

    def body(self, outcome, subject, reporter):
        """The mail's text: the subject again, every field Pacemaker gave, what happens next."""
        rc = ""
        if self.rc is not None:
            rc = str(self.rc)
            if self.target_rc is not None:
                rc += " (expected %d)" % self.target_rc
        fields = [
            ("event", self.kind),
            ("node", self.node),
            ("resource", self.rsc),
            ("operation", self.task),
            ("result", self.desc),
            ("return code", rc),
            ("at", self.timestamp),
            ("reported by", reporter),
        ]
        lines = [subject, ""] + ["%-12s %s" % (k + ":", v) for k, v in fields if v]
        hint = _HINTS.get((self.kind, outcome.split(":")[-1]))
        if hint:
            lines += ["", hint % {"node": self.node}]
        return "\n".join(lines) + "\n"


_HINTS = {
    ("node", "lost"): "The cluster fences %(node)s, then restarts its resources on the others.",
    ("fencing", "failed"): (
        "Resources of %(node)s stay stopped until a fence succeeds: check its fence "
        "devices, or confirm by hand that it is off (meatware: `xenha fence confirm %(node)s`)."
    ),
    (SETTING, "invalid"): (
        "Mailed once by `xenha vm follow` on %(node)s, the DC, when it found the value; "
        "the VM stays unprotected until its flag says true (false: unprotected on purpose)."
    ),
    (MAINTENANCE, "reminder"): (
        "Mailed by `xenha vm follow` on %(node)s, the DC, when maintenance goes on and "
        "every hour while it stays on: nothing is monitored or recovered meanwhile. "
        "`xenha maintenance off` ends it (it also ends by itself at its end time)."
    ),
    (TEST, "test"): (
        "Sent by `xenha alert test` on %(node)s with the settings of the cluster's e-mail "
        "alert; no cluster event happened. A real alert is mailed by one node only (the "
        "speaker) and at most once per suppression window; the test bypassed both."
    ),
}


def _int(text):
    try:
        return int(text)
    except ValueError:
        return None
