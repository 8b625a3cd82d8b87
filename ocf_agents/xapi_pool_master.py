"""ocf:xenha:xapi-pool-master - promotable clone whose Promoted instance is the pool master.

Planned moves use ``Pool.designate_new_master`` (VMs keep running). When the
master is dead, a slave takes over with ``Pool.emergency_transition_to_master``
and ``Pool.recover_slaves`` - only once the old master's node has left the
cluster and Pacemaker's fencing history shows it fenced after it was last seen
alive.

xapi restarts for tens of seconds on ``xe-toolstack-restart``, patching and every
master change (xen-api xapi_fuse.ml, then the restart): the actions wait it out
within their timeouts, and a monitor meanwhile reports the role this host's
pool.conf configures, for ``xapi_restart_grace`` seconds.
"""

import os
import time

from xenha import ocf, pacemaker
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.pool_agent import (
    CONNECTION_PARAMETERS,
    PATIENCE,
    QUICK,
    STEPS,
    Pool,
    pool,
    require_fenced,
)
from xenha.xapi.pool_conf import POOL_CONF

AGENT = ocf.ResourceAgent(
    "xapi-pool-master",
    version="1.0",
    shortdesc="The pool master role of a XAPI pool",
    longdesc="A promotable clone with one instance per pool host: the Promoted instance "
    "is the pool master, the Unpromoted ones are slaves. Promotion moves the master role "
    "(designate_new_master while the master lives; emergency transition and slave "
    "recovery once a dead master's node has left the cluster and been fenced). Run it "
    "with notify=true so a planned move hands the role over at demote.",
    parameters=[
        *CONNECTION_PARAMETERS,
        ocf.Parameter(
            "pool_conf",
            "xapi's role file",
            "Where this host's xapi keeps the role it starts in (master, or "
            "slave:<master address>): read while xapi does not answer.",
            default=POOL_CONF,
        ),
        ocf.Parameter(
            "xapi_restart_grace",
            "Seconds a monitor trusts pool.conf while xapi does not answer",
            "While this host's xapi refuses connections or is still booting (a toolstack "
            "restart, a master change), monitor reports the role pool.conf configures, with "
            "a warning; once xapi has not answered for this long, monitor fails.",
            type="integer",
            default="120",
            parse=ocf.positive,
        ),
        ocf.Parameter(
            "isolation_grace",
            "Seconds a master may reach no other member host's xapi",
            "When this host is the master and has reached the xapi of none of the other "
            "pool hosts whose nodes are cluster members for this long (its management "
            "network is cut while corosync still sees it), its Promoted monitor fails, "
            "and the generated on-fail=fence has its node fenced so a slave can take over.",
            type="integer",
            default="20",
            parse=ocf.positive,
        ),
    ],
)

PROMOTED_SCORE = 100  # the current master: no needless switches
REACHABLE_SCORE = 10  # a slave that reaches the master
ISOLATED_SCORE = 5  # a slave that cannot reach the master (a candidate if it died)
NEVER = "-INFINITY"  # a host in maintenance
PROMOTED_ROLES = ("Promoted", "Master")  # OCF_RESKEY_CRM_meta_role of a Promoted monitor
# A monitor retries its xapi restarting for this fraction of its timeout, then reads
# pool.conf: the answer it needs is there.
MONITOR_PATIENCE = 0.2
REPLICA_BOUND = 2.0  # seconds for a read of this host's replica without its master


def _state_file(res, what):
    """This node's state for the clone: ``started`` (Pacemaker started the instance
    here), ``promote-target`` (the node a running transition promotes),
    ``xapi-silent`` (since when this host's xapi has not answered, monotonic),
    ``master-seen`` (the master this node last saw answer, and when),
    ``maintenance`` (this host was in maintenance when the master last said) and
    ``cut-off`` (since when this master has reached no other member's xapi,
    monotonic)."""
    rsctmp = res.env.get("HA_RSCTMP", "/run/resource-agents")
    return os.path.join(rsctmp, "xenha-%s.%s" % (res.instance.split(":")[0], what))


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


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


def _follows(local):
    """The address of the master this host's xapi follows, None if it is the master;
    xapi restarting is retried within the pool's patience, then "cannot tell"."""
    try:
        return local.client.follows()
    except XenhaError as e:
        raise _silent(e) from None


def _silent(e):
    """``e`` from this host's xapi as the action's error: no answer is "cannot tell"."""
    from xenha.xapi import XapiUnreachable
    from xenha.xapi.faults import is_transient

    if isinstance(e, XapiUnreachable) or is_transient(e):
        return ocf.generic("xapi on this host does not answer: %s" % e)
    return e


# -- what this node saw -----------------------------------------------------------------


def _saw_master(res, p, address):
    """Record that the master at ``address`` answered now (this node's clock): promote's
    bound for "fenced after it was last seen", which no stale replica can move back."""
    path = _state_file(res, "master-seen")
    old = (_read(path) or "").split()
    if len(old) == 4 and old[0] == address:
        ref, node = old[1], old[2]
    else:
        ref = p.client.master()
        node = p.node_of_host(ref)
    try:
        _write(path, "%s %s %s %d\n" % (address, ref, node, int(time.time() + 1)))
    except OSError as e:
        res.log.warning("cannot record when the pool master last answered: %s", e)


def _last_saw(res, address):
    """(host ref, node, epoch) of this node's record of the master at ``address``, or
    None: no record (this node rebooted: HA_RSCTMP is empty) or another master's."""
    seen = (_read(_state_file(res, "master-seen")) or "").split()
    if len(seen) != 4 or seen[0] != address:
        return None
    return seen[1], seen[2], int(seen[3])


def _replica_saw(res, address):
    """(host ref, node, epoch) of the master at ``address`` from this host's replica,
    asked briefly: a slave's xapi blocks its reads while the master is out of reach
    (db_globs.ml master_connection_retry_timeout), so this is None on a real pool."""
    view = Pool(res, REPLICA_BOUND).local_view()
    try:
        old = _host_at(view.api, address)
        return old, view.node_of_host(old), view.last_seen(old)
    except (XenhaError, ocf.OcfError) as e:
        res.log.info("this host's replica does not say when the master was seen: %s", e)
        return None
    finally:
        view.close()


def _restarting(res, error, started):
    """This host's xapi does not answer (``error``: refused, vanished socket, reset,
    HOST_STILL_BOOTING): a restart. The role pool.conf configures is reported, with a
    warning, until xapi has been silent for xapi_restart_grace seconds; then, or when
    pool.conf cannot tell, "cannot tell" (OCF_ERR_GENERIC), never "not running"."""
    from xenha.xapi.pool_conf import configured_role

    path = _state_file(res, "xapi-silent")
    try:
        since = float(_read(path) or "")
    except ValueError:
        since = time.monotonic()
        _write(path, repr(since))
    silent = Deadline(res.params.xapi_restart_grace, start=since)
    if silent.expired():
        raise ocf.generic(
            "xapi on this host has not answered for %ds: %s" % (silent.elapsed(), error)
        )
    try:
        leader = configured_role(res.params.pool_conf)
    except XenhaError as e:
        raise ocf.generic("xapi on this host does not answer (%s), and %s" % (error, e)) from None
    role = "master" if leader is None else "a slave of %s" % leader
    res.log.warning(
        "xapi on this host does not answer (%s), restarting for %ds: pool.conf says %s; "
        "trusted for %ds more",
        error,
        silent.elapsed(),
        role,
        silent.left(),
    )
    if not started:
        if leader is None:
            raise ocf.generic("xapi on this host does not answer (%s): cannot tell" % error)
        return res.not_running("the instance is not started on this node")
    return ocf.RUNNING_PROMOTED if leader is None else ocf.SUCCESS


# -- actions ------------------------------------------------------------------------------


@AGENT.action("start", timeout=60)
def start(res):
    """xapi runs on every host anyway: the instance starts once xapi answers here (a
    restarting xapi is waited for within the timeout)."""
    _write(_state_file(res, "started"), "")
    try:
        _observe(res, restarting=None)
    except ocf.OcfError:
        _remove(_state_file(res, "started"))
        raise


@AGENT.action("stop", timeout=60)
def stop(res):
    """xapi keeps running; the instance and its promotion score go."""
    for what in ("started", "xapi-silent"):
        _remove(_state_file(res, what))
    _score(res, None)


@AGENT.action("monitor", timeout=30, interval=9, role="Promoted")
@AGENT.action("monitor", timeout=30, interval=10, role="Unpromoted")
def monitor(res):
    """Promoted on the master - whether or not Pacemaker started the instance here, so a
    probe on the master says so - Unpromoted on slaves where the instance was started,
    not running elsewhere. This host's own xapi says which it is (a slave refuses a
    login with HOST_IS_SLAVE without asking its master); while it restarts, pool.conf
    does (:func:`_restarting`). An old master back from a fence rejoins the pool here."""
    return _observe(res, restarting=_restarting)


def _observe(res, restarting):
    """The instance's state (monitor), ``restarting(res, error, started)`` answering
    while this host's xapi restarts; None: wait for it within the action's time."""
    from xenha.xapi.faults import is_transient

    started = os.path.exists(_state_file(res, "started"))
    with pool(res, QUICK, MONITOR_PATIENCE if restarting else PATIENCE) as p:
        local = p.local_view()
        try:
            try:
                leader = local.client.follows()
            except XenhaError as e:
                if restarting and is_transient(e):
                    return restarting(res, e, started)
                raise _silent(e) from None
            _remove(_state_file(res, "xapi-silent"))
            if leader is None:
                here = local.client.this_host()
                if res.meta("role") not in PROMOTED_ROLES and _rejoined(p, local, here):
                    return ocf.SUCCESS if started else res.not_running("rejoined as a slave")
                if not started:  # the master role runs here, whether Pacemaker started it
                    _write(_state_file(res, "started"), "")
                if restarting and res.meta("role") in PROMOTED_ROLES:
                    _require_reaching_the_pool(res, local, here)
                _score(res, NEVER if _in_maintenance(local.api, here) else PROMOTED_SCORE)
                return ocf.RUNNING_PROMOTED
        finally:
            local.close()
        if not started:
            return res.not_running("the instance is not started on this node")
        _score(res, _slave_score(res, p, leader))
    return ocf.SUCCESS


def _require_reaching_the_pool(res, local, here):
    """A master whose management network is cut (corosync on another ring still sees its
    node) serves no host of its pool, and no slave may take over while its node is a
    member. So when it has reached none of the other hosts whose nodes are members for
    isolation_grace seconds, its Promoted monitor fails, and the generated on-fail=fence
    fences it. A host answers the probe (:meth:`Pool.leaders`) if its xapi says
    anything, a refusal included (then only xapi is down there: the network carries);
    only silence counts."""
    path = _state_file(res, "cut-off")
    if _reaches_the_pool(res, local, here) is not False:
        _remove(path)
        return
    try:
        since = float(_read(path) or "")
    except ValueError:
        since = time.monotonic()
        _write(path, repr(since))
    cut = Deadline(res.params.isolation_grace, start=since)
    what = (
        "this pool master reaches no other host whose node is a cluster member (%ds): its "
        "management network is cut off" % cut.elapsed()
    )
    if cut.expired():
        _remove(path)
        raise ocf.generic(what + "; failing, so that Pacemaker fences this node")
    res.log.warning("%s; failing in %ds unless one answers", what, cut.left())


def _reaches_the_pool(res, local, here):
    """Whether this master reaches the xapi of another host whose node is a cluster
    member; None when there is no such host."""
    from xenha.xapi import XapiUnreachable

    members = pacemaker.members()
    peers = [
        local.api.host.get_address(h)
        for h in local.api.host.get_all()
        if h != here and local.node_of_host(h) in members
    ]
    if not peers:
        return None
    said = local.leaders(peers).values()
    return any(not isinstance(a, XapiUnreachable) or a.refused for a in said)


def _slave_score(res, p, leader):
    """A slave's promotion score: from the master's database while it answers (and this
    node records that it saw it); without it, what the master last said of maintenance."""
    remembered = _state_file(res, "maintenance")
    if not p.client.master_reachable():
        return NEVER if os.path.exists(remembered) else ISOLATED_SCORE
    _saw_master(res, p, leader)
    if _in_maintenance(p.api, p.local_host()):
        _write(remembered, "")
        return NEVER
    _remove(remembered)
    return REACHABLE_SCORE


def _rejoined(p, local, here):
    """This host may be an old master back from a fence, still master of its own split
    pool: if the other hosts' xapi side with another master, point this host's xapi at
    it (``pool.emergency_reset_master``) and return True. Never run by a Promoted
    monitor, so the real master is never reset on a monitor's word; demote asks too, so
    that a split old master never hands its pool over (and the real one, outvoting it,
    goes on). Nobody answering while other members exist is "cannot tell"."""
    from xenha.xapi import XapiError, XapiUnreachable

    api = local.api
    if api.pool.get_master(api.pool.get_all()[0]) != here:
        return False  # its xapi is master, yet its database names another: not split
    mine = api.host.get_address(here)
    hosts = {api.host.get_address(h): h for h in api.host.get_all() if h != here}
    votes = {mine: 1}  # each answering host backs the master it follows, a master itself
    masters = set()  # the other hosts that answer as masters
    said = local.leaders(sorted(hosts))
    for address, leader in sorted(said.items()):
        if isinstance(leader, (XapiError, XapiUnreachable)):
            p.res.log.info("host %s does not say which master it follows: %s", address, leader)
            continue
        if leader is None:
            masters.add(address)
        votes[leader or address] = votes.get(leader or address, 0) + 1
    if len(votes) == 1 and votes[mine] == 1:  # nobody answered
        members = pacemaker.members()
        if any(local.node_of_host(h) in members for h in hosts.values()):
            raise ocf.generic(
                "this host's xapi acts as the pool master, and no other member's xapi says "
                "which master it follows: cannot tell whether this host is an old master "
                "back from its fence"
            )
    rivals = sorted((n, a) for a, n in votes.items() if a in masters)
    if not rivals:
        return False
    backing, real = rivals[-1]
    if backing < votes[mine] or (backing == votes[mine] and not local.stale_in_a_tie(hosts[real])):
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


@AGENT.action("promote", timeout=300)
def promote(res):
    """This host's own xapi answers first: already master, or which master it follows.
    A master whose node left the cluster and was fenced since this node last saw it is
    not asked anything (it is dead, or booting with a stale pool): emergency takeover
    at once. A master that answers hands over (planned move), waited for a while when
    its node is a member (its xapi may be restarting). A member's master that does not
    answer is never taken over: it may be alive (its management network lost); it must
    be fenced first. Every restart a master change brings is waited for."""
    deadline = res.budget.fraction(0.9)
    with pool(res, STEPS) as p:
        local = p.local_view()
        try:
            leader = _follows(local)
            if leader is None:
                _score(res, PROMOTED_SCORE)
                return ocf.SUCCESS
            if _take_over(res, p, leader):
                local.api.pool.emergency_transition_to_master()
                _wait_role(local, True, deadline)
                p.client.relogin()  # the cached session is with the old master
                recovered = p.api.pool.recover_slaves()
                res.log.info("recovered %d slave(s)", len(recovered))
            else:
                res.log.info("planned move: designating this host the new pool master")
                p.api.pool.designate_new_master(p.local_host())
                _wait_role(local, True, deadline)
                recovered = [h for h in p.api.host.get_all() if h != p.local_host()]
            _wait_followers(res, p, recovered, deadline)
        finally:
            local.close()
    _score(res, PROMOTED_SCORE)


def _wait_followers(res, p, hosts, deadline):
    """The slaves a master change restarts (after their fuse, then refusing, then
    HOST_STILL_BOOTING until their Pool.hello) cannot act for a while: a VM start that
    Pacemaker orders after this promote would fail on one of them, and a failed start
    bans that node. So wait, within the promote's time, until each of ``hosts`` whose
    node is a member answers as this master's slave; one that does not is a warning."""
    members = pacemaker.members()
    mine = p.api.host.get_address(p.local_host())
    waiting = [p.api.host.get_address(h) for h in hosts if p.node_of_host(h) in members]

    def followed():
        said = p.leaders(waiting)
        waiting[:] = [a for a in waiting if said[a] != mine]
        return not waiting

    if not deadline.poll(followed, 1.0):
        res.log.warning("hosts %s do not follow this master yet", ", ".join(waiting))


def _wait_role(local, master, deadline):
    """Wait until this host's xapi answers as master (``master``) or as a slave: a role
    change writes pool.conf, and xapi carries on in its old role for its fuse, then
    restarts (xapi_fuse.ml light_fuse_and_run, xapi_pool_transition.ml); a new slave
    answers HOST_STILL_BOOTING until its Pool.hello succeeds."""
    if not deadline.poll(lambda: (_follows(local) is None) == master, 0.5):
        raise ocf.generic(
            "this host's xapi did not restart as %s in time" % ("master" if master else "a slave")
        )


def _take_over(res, p, leader):
    """Whether the master at ``leader`` is to be taken over (True) rather than handed
    over from (False); raises when neither may be done."""
    known = _last_saw(res, leader)
    replica = _replica_saw(res, leader)
    if known is None and replica is None:
        if p.client.master_reachable():
            return False
        raise ocf.generic(
            "pool master %s does not answer, and this node has no record of it (none is "
            "kept across a reboot of this node, and this host's replica cannot be read "
            "without its master): cannot tell which node it is or when it was last "
            "alive; refusing (promote a node that saw it)" % leader
        )
    node = (known or replica)[1]
    # The later of this node's record and the replica's: a stale replica cannot move
    # "last seen" back before a fence the old master has since rebooted from.
    times = [r[2] for r in (known, replica) if r is not None and r[2] is not None]
    seen = max(times) if times else None
    member = pacemaker.is_member(node)
    if not member and seen is not None and pacemaker.fenced_since(node, seen) is not None:
        res.log.warning("master node %s is fenced; emergency transition here", node)
        return True
    # A member's xapi may be restarting (xe-toolstack-restart, a master change): wait.
    if res.budget.fraction(0.5 if member else 0).poll(p.client.master_reachable, 1.0):
        return False
    what = "pool master %s (node %s) does not answer" % (leader, node)
    if member:
        raise ocf.generic(
            "%s, yet node %s is a cluster member: it may be alive (its management network "
            "lost), so no emergency transition while it is; fence node %s "
            "(stonith_admin --fence %s)" % (what, node, node, node)
        )
    require_fenced(res, node, seen, what)
    res.log.warning("master node %s is fenced; emergency transition here", node)
    return True


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
    able to take it, the role stays until a promotion elsewhere takes it. The restarts
    the move brings are waited for."""
    deadline = res.budget.fraction(0.9)
    with pool(res, STEPS) as p:
        local = p.local_view()
        try:
            if _follows(local) is not None:
                return ocf.SUCCESS  # this host's xapi is a slave: nothing to hand over
            if _rejoined(p, local, local.client.this_host()):  # an old, split master
                _wait_role(local, False, deadline)
                return ocf.SUCCESS  # it handed nothing over: its pool is not the pool
            target = _planned_target(res, p)
            if target is None:
                res.log.warning("no other host can take the pool master role; it stays here")
                return ocf.SUCCESS
            res.log.info("handing the pool master role to %s", p.describe(target))
            p.api.pool.designate_new_master(target)
            _wait_role(local, False, deadline)
        finally:
            local.close()
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
