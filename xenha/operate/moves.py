"""``xenha vm move`` and ``xenha master move``: one planned move, previewed, done with
crm_resource's own constraint, confirmed, and the constraint taken back.

A move leaves nothing behind: once the resource runs where it was sent, the
``cli-prefer``/``cli-ban`` constraint is cleared (resource stickiness keeps it
there), so a later failover is free to use every node.
"""

from xenha import status
from xenha.crm.plan import MASTER, MASTER_CLONE
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.operate import checks, paper
from xenha.operate.drain import master_on
from xenha.operate.verbs import Verbs

POLL = 1.0
IDLE_WAIT = 120  # seconds a failed move waits for the cluster to idle before clearing


def resolve_vm(view, text):
    """The VM resource ``text`` names: its id (vm-db), the ``vm`` parameter (UUID or
    name-label), or its name in the pool; an error when none or several match."""
    cluster, pool = view["cluster"], view["pool"] or {"vms": {}}
    found = set()
    for rid, key in cluster["vm_resources"].items():
        names = {rid, key, (pool["vms"].get(key) or {}).get("name")}
        if text in names:
            found.add(rid)
    if len(found) == 1:
        return found.pop()
    if found:
        raise XenhaError("%r names several VMs: %s" % (text, ", ".join(sorted(found))))
    known = ", ".join(sorted(cluster["vm_resources"])) or "none"
    raise XenhaError("no protected VM %r (VM resources: %s)" % (text, known))


def _target_refusals(cluster, node, what):
    """Why ``node`` cannot take ``what`` now (empty: it can)."""
    states = {n["name"]: n for n in cluster["nodes"]}
    if node not in states:
        raise XenhaError("no node %s in the cluster (nodes: %s)" % (node, ", ".join(states)))
    return checks.cannot_take(states[node], what)


def plan_vm_move(view, rid, node=None, cib_xml=None):
    """[(what, [Change])] and the refusals (restarts apart) of moving ``rid`` to
    ``node`` (None: wherever Pacemaker puts it)."""
    cluster = view["cluster"]
    here = status.started_on(cluster, rid)
    if len(here) != 1:
        raise XenhaError("%s is not running in the cluster: nothing to move" % rid)
    refusals = []
    if node is not None:
        if node == here[0]:
            raise XenhaError("%s runs on %s already" % (rid, node))
        refusals += _target_refusals(cluster, node, rid)
    with paper.Paper(cib_xml) as p:
        if node is None:
            p.verbs.ban(rid, here[0])
        else:
            p.verbs.prefer(rid, node)
        changes = p.run(set(cluster["vm_resources"]))
    mine = [c for c in changes if c.rsc == rid]
    if not mine or mine[0].target in (None, here[0]):
        refusals.append("Pacemaker would not move %s (its constraints keep it)" % rid)
    if view["pool"] is None:
        refusals.append("cannot tell whether the target host has the memory for %s" % rid)
    else:
        refusals += checks.memory(cluster, view["pool"], changes)
    steps = [("%s leaves %s" % (rid, here[0]), changes)]
    return steps, refusals


def plan_master_move(view, node, cib_xml=None):
    """[(what, [Change])] and the refusals of handing the pool master to ``node``."""
    cluster, pool = view["cluster"], view["pool"]
    current = master_on(cluster)
    if current == node:
        raise XenhaError("the pool master is on %s already" % node)
    refusals = _target_refusals(cluster, node, "the pool master")
    if pool is None:
        refusals.append("cannot tell whether %s's host is enabled: the pool does not answer" % node)
    else:
        hosts = {h["name"]: h for h in pool["hosts"]}
        host = hosts.get(
            next((h for h, n in status.nodes_of_hosts(cluster, pool).items() if n == node), "")
        )
        if host is None:
            refusals.append("no pool host is mapped to node %s" % node)
        elif host["maintenance"] or not host["enabled"]:
            refusals.append("host %s is disabled (maintenance mode?)" % host["name"])
        elif host["live"] is False:
            refusals.append("host %s is not live in the pool" % host["name"])
    with paper.Paper(cib_xml) as p:
        p.verbs.prefer(MASTER_CLONE, node, promoted=True)
        changes = p.run(set(cluster["vm_resources"]))
    if not any(c.kind == "master" and c.target == node for c in changes):
        refusals.append("Pacemaker would not promote %s on %s" % (MASTER, node))
    for c in changes:
        if c.rsc in cluster["vm_resources"]:
            refusals.append("%s during a master move" % paper.describe(c))
    return [("pool master to %s" % node, changes)], refusals


def move(rsc, arrived, constrain, deadline, watch=None, read_cluster=None, verbs=None):
    """Put the constraint (``constrain(verbs)``), wait until ``arrived(cluster)`` is
    true, then clear it, whatever happened (the resource stays where it went; after a
    failure or Ctrl-C, once the cluster is idle, so no move under way is cut short). A
    new failed action of ``watch`` (default ``rsc``) ends the wait."""
    verbs = verbs or Verbs()
    read_cluster = read_cluster or status.read_cluster
    watch = watch or rsc
    old = checks.failures(read_cluster(), watch)
    done = None
    try:
        constrain(verbs)
        while True:
            cluster = read_cluster()
            new = checks.failures(cluster, watch) - old
            if new:
                raise XenhaError("%s failed: %s" % (rsc, min(new)[-1]))
            done = arrived(cluster)
            if done:
                return done
            if deadline.expired():
                raise XenhaError("%s did not move in time" % rsc)
            deadline.sleep(POLL)
    finally:
        if not done:
            try:
                verbs.wait_idle(IDLE_WAIT)
            except BaseException:
                pass  # clearing is still better than leaving the constraint
        verbs.clear(rsc)


def move_vm(rid, node, here, seconds):
    """Move ``rid`` from ``here`` to ``node`` (None: Pacemaker's choice); the node it
    runs on afterwards."""

    def constrain(verbs):
        if node is None:
            verbs.ban(rid, here)
        else:
            verbs.prefer(rid, node)

    def arrived(cluster):
        now = status.started_on(cluster, rid)
        if len(now) == 1 and now[0] != here and node in (None, now[0]):
            return now[0]
        return None

    return move(rid, arrived, constrain, Deadline(seconds))


def move_master(node, seconds, read_pool_master):
    """Hand the pool master to ``node``; done when Pacemaker has promoted it there and
    the pool names that node's host as its master (``read_pool_master()``: the node)."""
    deadline = Deadline(seconds)

    def arrived(cluster):
        return master_on(cluster) == node

    def constrain(verbs):
        verbs.prefer(MASTER_CLONE, node, promoted=True)

    move(MASTER_CLONE, arrived, constrain, deadline, watch=MASTER)
    while read_pool_master() != node:
        if deadline.expired():
            raise XenhaError("Pacemaker promoted %s, but the pool does not name it master" % node)
        deadline.sleep(POLL)
