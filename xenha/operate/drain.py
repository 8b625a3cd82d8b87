"""``xenha node standby|online``: a safe drain of one node, and its way back.

The drain moves the node's VMs away live, one at a time and highest priority
first, each by a ban (``cli-ban-VM-on-NODE``) that is taken back once the node
is in standby; only then does it set standby, which hands the pool master over
last, when no migration depends on it. Before anything, it plays these very
steps on a copy of the CIB (:mod:`xenha.operate.paper`) and refuses, unless
forced, when the drain or the node's loss afterwards would hurt (:func:`refusals`).
A drain that cannot finish takes its bans back once the cluster is idle and says
what moved and what it could not take back.
"""

from xenha import status
from xenha.crm.plan import MASTER
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.operate import checks, paper
from xenha.operate.verbs import Verbs
from xenha.pool_agent import VM_ACTIONS

POLL = 1.0
# How long one VM may take to leave: what Pacemaker itself allows its migration.
VM_PATIENCE = VM_ACTIONS.migrate_to.timeout + VM_ACTIONS.migrate_from.timeout
VM_PATIENCE += VM_ACTIONS.stop.timeout
TAKE_BACK_WAIT = 120  # seconds a failed drain waits for the cluster to idle before clearing


def vms_on(cluster, node):
    """The VM resources Pacemaker runs on ``node``, highest priority first."""
    options = cluster["vm_options"]
    here = [rid for rid in cluster["vm_resources"] if node in status.started_on(cluster, rid)]
    return sorted(here, key=lambda rid: (-options.get(rid, {}).get("priority", 0), rid))


def master_on(cluster):
    """The node the pool master is promoted on, per the cluster."""
    for rsc, where in cluster["running"].items():
        if rsc.split(":")[0] == MASTER:
            for node, role in where:
                if role in ("Promoted", "Master"):
                    return node
    return None


BUSY = "the cluster is busy"


def preview(node, cluster, cib_xml=None):
    """The drain's steps played on a copy of the CIB: [(step, [Change])]. The first
    step is what the cluster is doing already, if anything (:data:`BUSY`)."""
    vms = set(cluster["vm_resources"])
    steps = []
    with paper.Paper(cib_xml) as p:
        under_way = p.run(vms)
        if under_way:
            steps.append((BUSY, under_way))
        for rid in vms_on(cluster, node):
            p.verbs.ban(rid, node)
            steps.append(("%s leaves %s" % (rid, node), p.run(vms)))
        p.verbs.standby(node)
        steps.append(("%s in standby" % node, p.run(vms)))
    return steps


def refusals(node, view, steps, quorum, fencing):
    """What the drain of ``node`` would break, one line each (empty: go ahead).

    ``view``: :func:`xenha.status.gather`; ``steps``: :func:`preview`; ``quorum``:
    :func:`xenha.pacemaker.quorum` or the error it raised; ``fencing``: (works, detail) for the
    node's fence devices' status probe, or the error that probe raised.
    """
    cluster, pool = view["cluster"], view["pool"]
    out = []
    if cluster["maintenance"]["on"]:
        out.append("maintenance is on: the cluster would move nothing (xenha maintenance off)")
    if steps and steps[0][0] == BUSY:
        out.append("%s: let it settle first (crm_resource --wait)" % BUSY)
    for n in cluster["nodes"]:
        if n["name"] != node:
            out += checks.cannot_take(n, "%s's work" % node)
    for f in cluster["fences"]:
        if f["status"] == "pending":
            out.append("a fence of %s is pending" % f["target"])
    if isinstance(quorum, Exception):
        out.append("cannot tell whether the cluster keeps quorum without %s: %s" % (node, quorum))
    else:
        left = quorum["total"] - quorum["votes"].get(node, 1)
        if left < quorum["quorum"]:
            out.append(
                "once %s leaves (a reboot, the work a drain is for), %d votes fall short "
                "of quorum %d: the whole cluster would stop" % (node, left, quorum["quorum"])
            )
    if isinstance(fencing, Exception):
        out.append("cannot probe %s's fence devices: %s" % (node, fencing))
    elif not fencing[0]:
        out.append("%s's fencing does not answer a status probe: %s" % (node, fencing[1]))
    out += _unmoved(node, cluster, steps)
    if pool is None:
        out.append("cannot tell whether the other hosts have the memory for %s's VMs" % node)
    else:
        out += checks.memory(cluster, pool, [c for _, step in steps for c in step])
    return out


def _unmoved(node, cluster, steps):
    """A VM the preview does not take off the node (unmanaged, constrained there), and
    a master that standby would hand to no node: the drain could not finish."""
    out = []
    for what, changes in steps:
        rid = what.split()[0]
        if what.endswith(" leaves %s" % node) and not any(
            c.rsc == rid and c.target not in (None, node) for c in changes
        ):
            out.append("%s would not leave %s (unmanaged, or held there)" % (rid, node))
    if master_on(cluster) == node:
        last = steps[-1][1] if steps else []
        if not any(c.kind == "master" and c.target not in (None, node) for c in last):
            out.append("no other node would take the pool master from %s" % node)
    return out


def _trouble(cluster, node):
    """Why the other nodes cannot take ``node``'s work, as a set of lines."""
    return {
        line
        for n in cluster["nodes"]
        if n["name"] != node
        for line in checks.cannot_take(n, "%s's work" % node)
    }


class Drain:
    """One drain as it runs: what moved, the bans to take back."""

    def __init__(self, node, out, verbs=None, read_cluster=status.read_cluster):
        self.node, self.out = node, out
        self.verbs = verbs or Verbs()
        self.read_cluster = read_cluster
        self.banned, self.moved = [], []
        self.standby_asked = False
        self.old_failures = self.old_trouble = set()

    def run(self, deadline):
        try:
            cluster = self.read_cluster()
            self.old_failures = checks.failures(cluster)
            self.old_trouble = _trouble(cluster, self.node)  # what --force let pass
            for rid in vms_on(cluster, self.node):
                self._move_off(rid, deadline)
            self.standby_asked = True  # before asking: an interrupted call may have landed
            self.verbs.standby(self.node)
            self.out("%s is in standby" % self.node)
            self._wait_master(deadline)
        except BaseException:
            self._take_back("the drain of %s stopped" % self.node)
            raise
        self._take_back(None)

    def _move_off(self, rid, deadline):
        self.out("%s: leaving %s" % (rid, self.node))
        self.banned.append(rid)  # before asking: an interrupted call may have landed
        self.verbs.ban(rid, self.node)
        patience = Deadline(min(VM_PATIENCE, deadline.left()))
        while True:
            cluster = self.read_cluster()
            failed = checks.failures(cluster, rid) - self.old_failures
            if failed:
                raise XenhaError("%s failed to leave %s: %s" % (rid, self.node, min(failed)[-1]))
            trouble = _trouble(cluster, self.node) - self.old_trouble
            if trouble:
                raise XenhaError("stopping the drain: %s" % min(trouble))
            where = status.started_on(cluster, rid)
            if where and self.node not in where:
                self.moved.append("%s -> %s" % (rid, ", ".join(where)))
                self.out("%s: runs on %s" % (rid, ", ".join(where)))
                return
            if patience.expired():
                raise XenhaError("%s did not leave %s in time" % (rid, self.node))
            patience.sleep(POLL)

    def _wait_master(self, deadline):
        while master_on(self.read_cluster()) in (self.node, None):
            if deadline.expired():
                raise XenhaError("the pool master did not leave %s in time" % self.node)
            deadline.sleep(POLL)
        self.out("pool master on %s" % master_on(self.read_cluster()))

    def _take_back(self, why):
        """Clear the bans: in standby they no longer matter; after a failure, once the
        cluster is idle (a migration under way ends first), so the node takes VMs again
        as before (those that moved stay where they went). Carries on through errors and
        a second Ctrl-C, naming what it could not take back."""
        if why and self.banned:
            try:
                self.verbs.wait_idle(TAKE_BACK_WAIT)
            except BaseException:
                pass  # clearing is still better than leaving the bans
        left = []
        for rid in self.banned:
            try:
                self.verbs.clear(rid, self.node)
            except BaseException:
                left.append(rid)
        for rid in left:
            self.out(
                "the ban of %s is still there: crm_resource --clear --resource %s --node %s"
                % (rid, rid, self.node)
            )
        if why:
            moved = ", ".join(self.moved) or "nothing"
            state = (
                "may be in standby (crm node online %s takes it back)" % self.node
                if self.standby_asked
                else "is not in standby"
            )
            self.out("%s; moved so far: %s; %s %s" % (why, moved, self.node, state))
