"""Refusal rules every command that moves VMs shares: a VM must move live, and the
host it goes to must have the memory xapi will ask for."""

from xenha import status
from xenha.operate import paper


def cannot_take(node, what):
    """Why the cluster node ``node`` (a row of xenha.status's nodes) cannot take ``what``
    now: one line, or none when it can."""
    bad = [w for w in ("unclean", "standby", "maintenance") if node[w]]
    if not node["online"] and not node["unclean"]:
        bad.append("offline")
    return (
        ["node %s is %s: it cannot take %s" % (node["name"], " and ".join(bad), what)]
        if bad
        else []
    )


def failures(cluster, rsc=None):
    """{(op, node, call, when, line)} of the cluster's failed actions (of ``rsc`` only, if
    given): a set to tell the new ones from those there before, a repeat of an old failure
    included (its call id and time are new)."""
    return {
        (
            f["op"],
            f["node"],
            f["call"],
            f["when"],
            "%s on %s: %s" % (f["op"], f["node"], f["reason"] or f["status"]),
        )
        for f in cluster["failed_actions"]
        if rsc is None or f["op"].startswith(rsc + "_")
    }


def restarts(steps, cluster):
    """The VMs the steps ([(what, [Change])]) would not move live, one line each."""
    out = []
    for _, step in steps:
        for c in step:
            if c.rsc in cluster["vm_resources"] and c.kind in ("restart", "stop"):
                live = cluster["vm_options"].get(c.rsc, {}).get("migrate")
                why = "Pacemaker would not move it live" if live else "allow-migrate is off"
                out.append("%s (%s)" % (paper.describe(c), why))
    return out


def memory(cluster, pool, changes):
    """Whether each host VMs go to (``changes``) has the memory xapi will check for
    them (host.compute_free_memory against each VM's need: xenha.status.read_pool)."""
    host_of = {n: h for h, n in status.nodes_of_hosts(cluster, pool).items()}
    free = {h["name"]: h["memory_free"] for h in pool["hosts"]}
    arriving = {}
    for c in changes:
        if c.rsc in cluster["vm_resources"] and c.target and c.kind in ("live", "restart"):
            arriving.setdefault(host_of.get(c.target, c.target), []).append(c.rsc)
    out = []
    for host, rids in sorted(arriving.items()):
        needs = [pool["vms"].get(cluster["vm_resources"][r], {}).get("memory") for r in rids]
        unknown = [r for r, need in zip(rids, needs) if need is None]
        if unknown:
            out.append(
                "cannot tell the memory %s need%s"
                % (", ".join(unknown), "s" if len(unknown) == 1 else "")
            )
            continue
        need = sum(needs)
        if free.get(host) is None:
            out.append("cannot tell the free memory of host %s" % host)
        elif need > free[host]:
            out.append(
                "%s need %s on host %s, which has %s free"
                % (", ".join(rids), _size(need), host, _size(free[host]))
            )
    return out


def _size(n):
    return "%.1f GiB" % (n / float(1 << 30))
