"""ocf:xenha:xapi-pool-master - promotable clone whose Promoted instance is the pool master.

Planned moves use ``Pool.designate_new_master`` (VMs keep running). When the
master is dead, a slave takes over with ``Pool.emergency_transition_to_master``
and ``Pool.recover_slaves`` - only after Pacemaker's fencing history shows the
old master's node fenced after the pool last saw it alive.
"""

import os

from xenha import ocf, pacemaker
from xenha.deadline import Deadline
from xenha.pool_agent import CONNECTION_PARAMETERS, QUICK, STEPS, pool

AGENT = ocf.ResourceAgent(
    "xapi-pool-master",
    version="1.0",
    shortdesc="The pool master role of a XAPI pool",
    longdesc="A promotable clone with one instance per pool host: the Promoted instance "
    "is the pool master, the Unpromoted ones are slaves. Promotion moves the master role "
    "(designate_new_master while the master lives; emergency transition and slave "
    "recovery once a dead master has been fenced). Run it with notify=true so a planned "
    "move hands the role over at demote.",
    parameters=CONNECTION_PARAMETERS,
)

PROMOTED_SCORE = 100  # the current master: no needless switches
REACHABLE_SCORE = 10  # a slave that reaches the master
ISOLATED_SCORE = 5  # a slave that cannot reach the master (a candidate if it died)
NEVER = "-INFINITY"  # a host in maintenance
PROMOTED_ROLES = ("Promoted", "Master")  # OCF_RESKEY_CRM_meta_role of a Promoted monitor


def _state_file(res, what):
    """This node's state for the clone: ``started`` (Pacemaker started the instance
    here) and ``promote-target`` (the node a running transition promotes)."""
    rsctmp = res.env.get("HA_RSCTMP", "/run/resource-agents")
    return os.path.join(rsctmp, "xenha-%s.%s" % (res.instance.split(":")[0], what))


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _in_maintenance(api, host):
    return not api.host.get_enabled(host) or (
        api.host.get_other_config(host).get("MAINTENANCE_MODE", "") == "true"
    )


def _score(res, score):
    try:
        pacemaker.set_promotion_score(res.instance, score)
    except pacemaker.PacemakerError as e:
        res.log.warning("cannot set the promotion score: %s", e)


def _wait_master(p, host, want, deadline):
    """Poll until ``host`` is (want=True) or is not (want=False) the pool master."""
    return deadline.poll(lambda: (p.client.master() == host) == want, 0.2)


@AGENT.action("start", timeout=60)
def start(res):
    """xapi runs on every host anyway: the instance starts once xapi answers here."""
    _write(_state_file(res, "started"), "")
    if monitor(res) == ocf.NOT_RUNNING:
        _remove(_state_file(res, "started"))
        raise ocf.generic("xapi does not run on this host")


@AGENT.action("stop", timeout=60)
def stop(res):
    """xapi keeps running; the instance and its promotion score go."""
    _remove(_state_file(res, "started"))
    _score(res, None)


@AGENT.action("monitor", timeout=30, interval=9, role="Promoted")
@AGENT.action("monitor", timeout=30, interval=10, role="Unpromoted")
def monitor(res):
    """Promoted on the master - whether or not Pacemaker started the instance here, so a
    probe on the master says so - Unpromoted on slaves where the instance was started,
    not running elsewhere and where this host's own xapi (asked through a slave-local
    session) does not run. An old master back from a fence rejoins the pool here."""
    from xenha.xapi import XapiUnreachable

    started = os.path.exists(_state_file(res, "started"))
    with pool(res, QUICK) as p:
        local = p.local_view()
        try:
            try:
                here = local.client.this_host()
            except XapiUnreachable as e:
                if e.refused:  # nothing listens: xapi is definitely not running here
                    return res.not_running("xapi does not run on this host: %s" % e)
                raise ocf.generic("xapi on this host does not answer: %s" % e) from None
            if res.meta("role") not in PROMOTED_ROLES and _rejoined(p, local, here):
                return ocf.SUCCESS if started else res.not_running("rejoined as a slave")
            if p.client.master_reachable():
                here, master, api = p.local_host(), p.client.master(), p.api
            else:
                master, api = None, local.api
            maintenance = _in_maintenance(api, here)
        finally:
            local.close()
    if master == here:
        if not started:  # the master role runs here, whether Pacemaker started it or not
            _write(_state_file(res, "started"), "")
    elif not started:
        return res.not_running("the instance is not started on this node")
    if maintenance:
        _score(res, NEVER)
    elif master == here:
        _score(res, PROMOTED_SCORE)
    else:
        _score(res, REACHABLE_SCORE if master else ISOLATED_SCORE)
    return ocf.RUNNING_PROMOTED if master == here else ocf.SUCCESS


def _rejoined(p, local, here):
    """This host may be an old master back from a fence, still master of its own split
    pool: if the other hosts' xapi side with another master, point this host's xapi at
    it (``pool.emergency_reset_master``) and return True. Never run where Pacemaker
    holds the instance Promoted, so the real master is never the one reset."""
    from xenha.xapi import XapiError, XapiUnreachable

    api = local.api
    if api.pool.get_master(api.pool.get_all()[0]) != here or local.client.follows() is not None:
        return False  # a slave (its replica may lag; its xapi's answer does not)
    mine = api.host.get_address(here)
    hosts = {api.host.get_address(h): h for h in api.host.get_all() if h != here}
    votes = {mine: 1}  # each answering host backs the master it follows, a master itself
    masters = set()  # the other hosts that answer as masters
    deadline = p.res.budget.fraction(0.5)  # from the action's start: never past its timeout
    for address in sorted(hosts):
        if deadline.expired():
            p.res.log.warning("no time left to ask host %s which master it follows", address)
            continue
        try:
            leader = local.client.follows(address)
            if leader is None:
                masters.add(address)
        except (XapiError, XapiUnreachable) as e:
            p.res.log.info("host %s does not say which master it follows: %s", address, e)
            continue
        votes[leader or address] = votes.get(leader or address, 0) + 1
    rivals = sorted((n, a) for a, n in votes.items() if a in masters)
    if not rivals:
        return False
    backing, real = rivals[-1]
    if backing < votes[mine] or (
        backing == votes[mine] and not _stale_in_a_tie(local, hosts[real])
    ):
        p.res.log.warning(
            "host %s also claims to be the pool master; it is the one to rejoin", real
        )
        return False
    p.res.log.warning(
        "this host is an old pool master; the pool's master is %s (%d of the answering "
        "hosts side with it): rejoining it as a slave",
        real,
        backing,
    )
    api.pool.emergency_reset_master(real)
    return True


def _stale_in_a_tie(p, rival):
    """Two masters with equal backing: the one whose node Pacemaker fenced last is the old
    one (a master is replaced only once fenced). True if that is this host. A node just
    back from its fence may not have its fencer's history yet: ask again for a while;
    still no fence of either (history lost with a cluster restart) is "cannot tell"."""
    rival_node = p.node_of_host(rival)
    fences = []

    def told():
        fences[:] = [pacemaker.fenced_since(p.node(), 0), pacemaker.fenced_since(rival_node, 0)]
        return fences[0] != fences[1]

    ends = min(10.0, p.res.timeout / 3, p.res.budget.fraction(0.9).left())
    if not Deadline(ends).poll(told, 1.0):
        raise ocf.generic(
            "host %s and this host both claim to be the pool master, as many hosts "
            "side with each, and no fencing history tells which is the old one; run "
            "xe pool-emergency-reset-master master-address=<the real master> on the other"
            % p.describe(rival)
        )
    mine, theirs = fences
    return mine is not None and (theirs is None or mine > theirs)


@AGENT.action("promote", timeout=300)
def promote(res):
    """This host's own xapi answers first: already master, or which master it follows.
    A master whose node left the cluster and was fenced since the pool last saw it is
    not asked anything (it is dead, or booting with a stale pool): emergency takeover
    at once. Otherwise a master that answers hands over (planned move); one that does
    not is taken over from only once it is fenced."""
    deadline = res.budget.fraction(0.9)
    with pool(res, STEPS) as p:
        local = p.local_view()
        try:
            here = local.client.this_host()
            leader = local.client.follows()
            if leader is None:
                _score(res, PROMOTED_SCORE)
                return ocf.SUCCESS
            old = _host_at(local.api, leader)
            seen = local.last_seen(old)
            node = local.node_of_host(old)
            gone = (
                seen is not None
                and not pacemaker.is_member(node)
                and pacemaker.fenced_since(node, seen) is not None
            )
            emergency = gone or not p.client.master_reachable()
            if emergency:
                if not gone:  # refuses, unless the fence has just completed
                    what = "pool master %s does not answer" % local.describe(old)
                    local.require_fenced(old, seen, what)
                res.log.warning("master node %s is fenced; emergency transition here", node)
                local.api.pool.emergency_transition_to_master()
        finally:
            local.close()
        if emergency:
            p.client.relogin()  # the cached session is with the old master
            res.log.info("recovered %d slave(s)", len(p.api.pool.recover_slaves()))
        else:
            res.log.info("planned move: designating this host the new pool master")
            p.api.pool.designate_new_master(here)
        if not _wait_master(p, here, True, deadline):
            raise ocf.generic("this host did not become the pool master in time")
    _score(res, PROMOTED_SCORE)


def _host_at(api, address):
    """The host whose address is ``address`` (the master this host's xapi follows: the
    replica's own pool.master may be stale just after a rejoin)."""
    for host in api.host.get_all():
        if api.host.get_address(host) == address:
            return host
    raise ocf.generic("this host's xapi follows %s, which is no host of the pool" % address)


@AGENT.action("demote", timeout=120)
def demote(res):
    """Hand the master role over: to the node the transition promotes (notify data),
    else to the best other host; a pool always has a master, so with no other host
    able to take it, the role stays until a promotion elsewhere takes it."""
    deadline = res.budget.fraction(0.9)
    with pool(res, STEPS) as p:
        local = p.local_view()
        try:
            if local.client.follows() is not None:
                return ocf.SUCCESS  # this host's xapi is a slave: nothing to hand over
        finally:
            local.close()
        here = p.local_host()
        target = _planned_target(res, p)
        if target is None:
            res.log.warning("no other host can take the pool master role; it stays here")
            return ocf.SUCCESS
        res.log.info("handing the pool master role to %s", p.describe(target))
        p.api.pool.designate_new_master(target)
        if not _wait_master(p, here, False, deadline):
            raise ocf.generic("the master role did not move to %s in time" % p.describe(target))
    _score(res, REACHABLE_SCORE)


def _planned_target(res, p):
    """The host to hand over to: the node being promoted, else the first (by name) other
    live host that is enabled and not in maintenance; None if there is none."""
    promote = pacemaker.notify_data(res.env)["promote"]
    try:
        with open(_state_file(res, "promote-target")) as f:
            promote = promote or [f.read().strip()]
    except FileNotFoundError:
        pass
    here = p.local_host()
    if promote and promote[0] and promote[0] != p.node():
        return p.host_of_node(promote[0])
    others = [
        (p.api.host.get_name_label(h), h)
        for h in p.api.host.get_all()
        if h != here and p.client.host_is_live(h) and not _in_maintenance(p.api, h)
    ]
    return min(others)[1] if others else None


@AGENT.action("notify", timeout=30)
def notify(res):
    """Remember which node a transition promotes, so demote can hand over to it."""
    data = pacemaker.notify_data(res.env)
    if data["type"] == "pre" and data["promote"]:
        _write(_state_file(res, "promote-target"), data["promote"][0])
    elif data["type"] == "post" and data["operation"] == "promote":
        _remove(_state_file(res, "promote-target"))


@AGENT.action("validate-all", timeout=30)
def validate_all(res):
    with pool(res, QUICK) as p:
        p.local_host()


def main():
    AGENT.run()


if __name__ == "__main__":
    main()
