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

from xenha import __version__, boot_role, ocf, pacemaker
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.pool_agent import (
    CONNECTION_PARAMETERS,
    MAINTENANCE,
    MASTER_ACTIONS,
    MASTER_GRACES,
    PARKED,
    PARKED_PATIENCE,
    PATIENCE,
    QUICK,
    STEPS,
    VERSION,
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
            "pool_record",
            "Where this host's pool is recorded for its next boot",
            "While this host is the master, its monitor records here this host's address "
            "and the pool's other hosts. xenha-boot-role reads it before xapi starts after "
            "a reboot and parks a master that rebooted (its xapi starts as its own slave, "
            "so it never comes back as a second master); a parked host reads it to find "
            "the pool.",
            default=boot_role.RECORD,
        ),
        *MASTER_GRACES,
    ],
)

PROMOTED_SCORE = 100  # the current master: no needless switches
REACHABLE_SCORE = 10  # a slave that reaches the master
ISOLATED_SCORE = 5  # a slave that cannot reach the master (a candidate if it died)
PARKED_SCORE = 50  # an old master parked at boot: its database is the newest one
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
    ``maintenance`` (this host was in maintenance when the master last said),
    ``maintenance-told`` (this node said its host is in maintenance mode),
    ``version-told`` (the xenha version this node said it runs), ``cut-off``
    (since when this master has reached no other member's xapi, monotonic) and
    ``parked-told`` (this node may have said that its xapi is parked:
    :func:`_tell_parked`)."""
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
    return not api.host.get_enabled(host) or _maintenance_mode(api, host)


def _maintenance_mode(api, host):
    """XenCenter's maintenance mode: the host's other_config MAINTENANCE_MODE, which
    ``xe host-enable`` removes (xen-api cli_operations.ml host_enable). Not a disabled
    host alone: xapi disables its own host whenever it restarts (xapi_fuse.ml) and
    enables it at the end of its start-up (xapi_host_helpers.ml consider_enabling_host)."""
    return api.host.get_other_config(host).get("MAINTENANCE_MODE", "") == "true"


def _tell_maintenance(res, api, host):
    """Tell the cluster whether this host is in maintenance mode (:data:`MAINTENANCE`):
    the generated configuration moves the VMs off a host in maintenance, live, rather
    than have their monitors find them gone once XenCenter evacuated it, and brings none
    back meanwhile. Told again at each monitor while on (Pacemaker drops transient
    attributes when it restarts, HA_RSCTMP stays); taken back once, when it goes (a state
    file says it was told)."""
    on = _maintenance_mode(api, host)
    told = _state_file(res, "maintenance-told")
    if not on and not os.path.exists(told):
        return
    try:
        pacemaker.set_node_attribute(MAINTENANCE, "true" if on else None)
    except pacemaker.PacemakerError as e:
        res.log.warning("cannot tell the cluster whether this host is in maintenance: %s", e)
        return
    if not on:
        _remove(told)
        res.log.info("this host is out of maintenance mode: VMs may run here again")
    elif not os.path.exists(told):
        _write(told, "")
        res.log.warning("this host is in maintenance mode: the cluster moves its VMs away")


def _tell_version(res):
    """Tell the cluster which xenha this node runs (:data:`VERSION`), for `xenha check`:
    at the first monitor after each start, and again if the installed xenha changed
    under a running instance. A failure only costs the check its answer."""
    told = _state_file(res, "version-told")
    if _read(told) == __version__:
        return
    try:
        pacemaker.set_node_attribute(VERSION, __version__)
    except pacemaker.PacemakerError as e:
        res.log.warning("cannot tell the cluster this node's xenha version: %s", e)
        return
    _write(told, __version__)


def _score(res, score):
    try:
        pacemaker.set_promotion_score(res.instance, score)
    except pacemaker.PacemakerError as e:
        res.log.warning("cannot set the promotion score: %s", e)


def _follows(res, local):
    """The address of the master this host's xapi follows, None if it is the master;
    xapi restarting is retried within the pool's patience, then "cannot tell"."""
    try:
        return _leader(res, local)[0]
    except XenhaError as e:
        raise _silent(e) from None


def _leader(res, local):
    """(the address of the master this host's xapi follows, None if it is the master;
    whether it is in emergency mode). A slave's xapi that booted while no master
    answers it is in emergency mode: it refuses the login with whatever its last
    Pool.hello ended in (HOST_STILL_BOOTING, a parked master's HOST_ITS_OWN_SLAVE,
    INTERNAL_ERROR when it reaches nobody: xapi.ml
    attempt_host_status_check_with_coordinator), and follows the master pool.conf
    names, itself when parked at boot (:func:`_parked`)."""
    from xenha.xapi import XapiError
    from xenha.xapi.pool_conf import configured_role

    try:
        return local.client.follows(), False
    except XapiError:
        try:
            emergency = local.api.host.is_in_emergency_mode()  # an emergency call
            leader = configured_role(res.params.pool_conf) if emergency else None
        except XenhaError as e:
            res.log.info("cannot tell whether this host's xapi is in emergency mode: %s", e)
            leader = None
        if leader is None:
            raise
        return leader, True


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


@AGENT.action(MASTER_ACTIONS.start)
def start(res):
    """xapi runs on every host anyway: the instance starts once xapi answers here (a
    restarting xapi is waited for within the timeout), or at once, Unpromoted, on a
    slave in emergency mode (:func:`_in_emergency_mode`)."""
    _write(_state_file(res, "started"), "")
    try:
        if not _in_emergency_mode(res):
            _observe(res, restarting=None)
    except ocf.OcfError:
        _remove(_state_file(res, "started"))
        raise


def _in_emergency_mode(res):
    """Whether this host's xapi, asked once, is a slave in emergency mode (not parked):
    that lasts until its master answers it, which in a cold start of the whole pool is
    only once a promotion has made one, and Pacemaker promotes only once every
    instance of the clone has started; so such a slave starts at once."""
    with pool(res, QUICK, 0) as p:
        local = p.local_view()
        try:
            leader, emergency = _leader(res, local)
        except XenhaError:
            return False
        finally:
            local.close()
    if not emergency or _parked(res, leader) is not None:
        return False
    _emergency_slave(res, leader, True)
    return True


def _emergency_slave(res, leader, started):
    """A slave of ``leader`` in emergency mode: Unpromoted where started, with the score
    of a slave that cannot reach its master."""
    res.log.warning(
        "xapi on this host is a slave of %s in emergency mode: no master answers it yet",
        leader,
    )
    if not started:
        return res.not_running("the instance is not started on this node")
    _score(res, ISOLATED_SCORE)
    return ocf.SUCCESS


@AGENT.action(MASTER_ACTIONS.stop)
def stop(res):
    """xapi keeps running; the instance and its promotion score go."""
    for what in ("started", "xapi-silent", "version-told"):
        _remove(_state_file(res, what))
    _score(res, None)


@AGENT.action(MASTER_ACTIONS.promoted_monitor)
@AGENT.action(MASTER_ACTIONS.unpromoted_monitor)
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
                leader, emergency = _leader(res, local)
            except XenhaError as e:
                if restarting and is_transient(e):
                    return restarting(res, e, started)
                raise _silent(e) from None
            _remove(_state_file(res, "xapi-silent"))
            record = _parked(res, leader)
            if record is not None:
                return _while_parked(res, local, started, record)
            if leader is not None:
                _not_parked(res)
            if emergency:
                return _emergency_slave(res, leader, started)
            if leader is None:
                here = local.client.this_host()
                if res.meta("role") not in PROMOTED_ROLES and _rejoined(p, local, here):
                    return ocf.SUCCESS if started else res.not_running("rejoined as a slave")
                if not started:  # the master role runs here, whether Pacemaker started it
                    _write(_state_file(res, "started"), "")
                try:
                    _untell_parked(res)  # promote took it back; a master made by hand too
                except ocf.OcfError as e:
                    res.log.warning("%s", e)  # a master's monitor reports the master
                if restarting and res.meta("role") in PROMOTED_ROLES:
                    _require_reaching_the_pool(res, local, _record_pool(res, local, here))
                _tell_maintenance(res, local.api, here)
                _tell_version(res)
                _score(res, NEVER if _in_maintenance(local.api, here) else PROMOTED_SCORE)
                return ocf.RUNNING_PROMOTED
        finally:
            local.close()
        if not started:
            return res.not_running("the instance is not started on this node")
        _tell_version(res)
        _score(res, _slave_score(res, p, leader))
    return ocf.SUCCESS


def _record_pool(res, local, here):
    """{address: node} of the pool's other hosts, recorded (``pool_record``) with this
    master's address for its next boot (:mod:`xenha.boot_role`)."""
    api = local.api
    hosts = {
        api.host.get_address(h): local.node_of_host(h) for h in api.host.get_all() if h != here
    }
    try:
        boot_role.remember(api.host.get_address(here), hosts, res.params.pool_record)
    except OSError as e:
        res.log.warning("cannot record the pool in %s: %s", res.params.pool_record, e)
    return hosts


def _parked(res, leader):
    """This host's record (:mod:`xenha.boot_role`) when its xapi follows itself, at the
    address of the record: parked at boot; else None."""
    record = boot_role.recall(res.params.pool_record)
    return record if record is not None and record.address == leader else None


def _while_parked(res, local, started, record):
    """This host is an old master parked at boot, its xapi its own slave. If another
    host answers as the pool's master, this host follows it; else it waits, Unpromoted,
    with the score that has a cold start of the pool promote it (its database is the
    newest), and no promotion elsewhere is needed to serve the pool."""
    real, silent = _master_elsewhere(res, local, record)
    if real is not None:
        _untell_parked(res)  # before it joins a pool: xen-vm trusts the word (see PARKED)
        res.log.warning("this host was parked at boot; the pool's master is %s: following it", real)
        local.api.pool.emergency_reset_master(real)
    else:
        _tell_parked(res, record.address)
    if not started:
        return res.not_running("the instance is not started on this node (parked at boot)")
    if real is not None:
        _score(res, REACHABLE_SCORE)
    elif _unknown(record, silent, _parked_since(res)):
        _score(res, None)  # its promote would refuse: no candidate until they answer
    else:
        _score(res, PARKED_SCORE)
    return ocf.SUCCESS


def _tell_parked(res, address):
    """Tell the cluster that this host's xapi is parked at ``address``, so that a
    promotion elsewhere may take over from it even when no other host reaches it (its
    management network still cut) while its node is a member. A state file, written
    first, says that this node may have told it: the word is taken back
    (:func:`_untell_parked`) before this host follows or becomes a master, and the
    monitors of a host that is not parked need not ask Pacemaker."""
    _write(_state_file(res, "parked-told"), address)
    try:
        pacemaker.set_node_attribute(PARKED, address)
    except pacemaker.PacemakerError as e:
        res.log.warning("cannot tell the cluster that this host is parked: %s", e)


def _untell_parked(res):
    """Take back this node's word that its xapi is parked. A word that outlives the
    parking would let a promotion elsewhere take over from this host while it is a
    master nobody reaches: two masters. So a word that cannot be taken back raises."""
    told = _state_file(res, "parked-told")
    if not os.path.exists(told):
        return
    try:
        pacemaker.set_node_attribute(PARKED, None)
    except pacemaker.PacemakerError as e:
        raise ocf.generic(
            "cannot take back this node's word that its xapi is parked (%s): not acting "
            "as a master or a slave while it stays" % e
        ) from None
    _remove(told)


def _not_parked(res):
    """This host's xapi follows another master: its word that it is parked goes, and so
    does its record of being master (a later boot parks nothing)."""
    _untell_parked(res)
    boot_role.forget(res.params.pool_record)


def _master_elsewhere(res, local, record):
    """Ask the hosts of this parked host's ``record`` which master they follow: (the
    address of the master that answers with the most backing or None, the addresses of
    hosts that did not answer and of masters followed that did not answer themselves).
    Two masters with equal backing: "cannot tell"."""
    from xenha.xapi import XapiError, XapiUnreachable
    from xenha.xapi.faults import EMERGENCY_ERRORS

    hosts = record.hosts
    said = local.leaders(sorted(hosts))
    votes, masters, silent = {}, set(), []
    for address, leader in sorted(said.items()):
        if isinstance(leader, XapiError) and leader.code in EMERGENCY_ERRORS:
            continue  # a slave in emergency mode (no master answers it): no master
        if isinstance(leader, (XapiError, XapiUnreachable)):
            res.log.info("host %s does not say which master it follows: %s", address, leader)
            silent.append(address)
            continue
        if leader == address:
            continue  # parked too: no master, backing none
        if leader is None:
            masters.add(address)
        votes[leader or address] = votes.get(leader or address, 0) + 1
    ranked = sorted(((votes[m], m) for m in masters), reverse=True)
    if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
        raise ocf.generic(
            "hosts %s and %s both act as the pool master, as many hosts backing each: "
            "cannot tell which one this parked host is to follow" % (ranked[0][1], ranked[1][1])
        )
    # Masters that answering hosts follow, yet do not answer themselves: maybe alive.
    unanswered = silent + sorted(set(votes) - masters - set(silent) - {record.address})
    return (ranked[0][1] if ranked else None), unanswered


def _require_reaching_the_pool(res, local, hosts):
    """A master whose management network is cut (corosync on another ring still sees its
    node) serves no host of its pool, and no slave may take over while its node is a
    member. So when it has reached none of the other hosts whose nodes are members for
    isolation_grace seconds, its Promoted monitor fails, and the generated on-fail=fence
    fences it. A host answers the probe (:meth:`Pool.leaders`) if its xapi says
    anything, a refusal included (then only xapi is down there: the network carries);
    only silence counts."""
    path = _state_file(res, "cut-off")
    if _reaches_the_pool(local, hosts) is not False:
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


def _reaches_the_pool(local, hosts):
    """Whether this master reaches the xapi of another of ``hosts`` ({address: node})
    whose node is a cluster member; None when there is no such host."""
    from xenha.xapi import XapiUnreachable

    members = pacemaker.members()
    peers = [address for address, node in sorted(hosts.items()) if node in members]
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
    _tell_maintenance(res, p.api, p.local_host())
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
        if leader == address:
            continue  # parked at boot (its own slave): no master, backing none
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


@AGENT.action(MASTER_ACTIONS.promote)
def promote(res):
    """This host's own xapi answers first: already master, or which master it follows.
    A master whose node left the cluster and was fenced since this node last saw it is
    not asked anything (it is dead, or booting with a stale pool): emergency takeover
    at once. A master that answers hands over (planned move), waited for a while when
    its node is a member (its xapi may be restarting). A member's master that does not
    answer is never taken over: it may be alive (its management network lost); it must
    be fenced first. Every restart a master change brings is waited for."""
    deadline = res.budget.fraction(0.9)
    _untell_parked(res)  # a master's word that it is parked would let others take over
    with pool(res, STEPS) as p:
        local = p.local_view()
        try:
            leader = _follows(res, local)
            if leader is None:  # a planned move: the old master's demote designated it
                _record_pool(res, p, p.local_host())
                _score(res, PROMOTED_SCORE)
                return ocf.SUCCESS
            if _take_over(res, p, leader):
                local.api.pool.emergency_transition_to_master()
                _wait_role(res, local, True, deadline)
                p.client.relogin()  # the cached session is with the old master
                _record_pool(res, p, p.local_host())  # master now: a fence must park it
                recovered = p.api.pool.recover_slaves()
                res.log.info("recovered %d slave(s)", len(recovered))
            else:
                res.log.info("planned move: designating this host the new pool master")
                p.api.pool.designate_new_master(p.local_host())
                _wait_role(res, local, True, deadline)
                _record_pool(res, p, p.local_host())
                recovered = [h for h in p.api.host.get_all() if h != p.local_host()]
            _wait_followers(res, p, recovered, deadline)
        finally:
            local.close()
    _score(res, PROMOTED_SCORE)


def _require_no_master_elsewhere(res, local, record):
    """A parked host resumes as master (a cold start of the pool) only once every other
    host of its record answers, and none as a master, but for hosts whose nodes left
    the cluster and were fenced since this host was parked (a master that stopped its
    cluster stack cleanly may still serve the pool)."""
    real, silent = _master_elsewhere(res, local, record)
    if real is not None:
        raise ocf.generic(
            "this host was parked at boot, and %s is the pool master: this host's monitor "
            "has it follow that master; promote that host's node instead" % real
        )
    unknown = _unknown(record, silent, _parked_since(res))
    if unknown:
        raise ocf.generic(
            "this host was parked at boot, and the xapi of %s does not answer: one may be "
            "the pool master; cannot tell (fence a node that is gone)"
            % ", ".join("%s (node %s)" % (a, record.hosts.get(a, "?")) for a in unknown)
        )


def _unknown(record, silent, since):
    """The ``silent`` hosts of a parked host's ``record`` that may be the pool master:
    all but those whose nodes left the cluster and were fenced ``since`` it was parked
    (a master that stopped its cluster stack cleanly may still serve the pool)."""
    if not silent:
        return []
    members = pacemaker.members()

    def gone(address):
        node = record.hosts.get(address)
        return node not in (None, *members) and pacemaker.fenced_since(node, since) is not None

    return [a for a in silent if not gone(a)]


def _parked_since(res):
    """When this host was parked (epoch): xenha-boot-role wrote pool.conf then."""
    try:
        return os.path.getmtime(res.params.pool_conf)
    except OSError as e:
        raise ocf.generic("cannot tell when this host was parked: %s" % e) from None


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


def _wait_role(res, local, master, deadline):
    """Wait until this host's xapi answers as master (``master``) or as a slave: a role
    change writes pool.conf, and xapi carries on in its old role for its fuse, then
    restarts (xapi_fuse.ml light_fuse_and_run, xapi_pool_transition.ml); a new slave
    answers HOST_STILL_BOOTING until its Pool.hello succeeds."""

    def reached():
        try:
            return (_follows(res, local) is None) == master
        except (ocf.OcfError, XenhaError):
            return False  # between roles: the fuse burns, in emergency mode; the restart

    if not deadline.poll(reached, 0.5):
        raise ocf.generic(
            "this host's xapi did not restart as %s in time" % ("master" if master else "a slave")
        )


def _take_over(res, p, leader):
    """Whether the master at ``leader`` is to be taken over (True) rather than handed
    over from (False); raises when neither may be done. This host parked at boot takes
    its own role back (a cold start of the pool) once no other host is master."""
    record = _parked(res, leader)
    if record is not None:
        _require_no_master_elsewhere(res, p, record)
        res.log.warning("this host was parked at boot: resuming as the pool master")
        return True
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
    fenced = seen is not None and pacemaker.fenced_since(node, seen) is not None
    if not member and fenced:
        res.log.warning("master node %s is fenced; emergency transition here", node)
        return True
    outcome = []

    def answers_or_parked():
        said = _master_says(p, node, leader, member)
        if said:
            outcome.append(said)
        return said

    # A member's xapi may be restarting (xe-toolstack-restart, a master change): wait.
    # Not long for a member back from its fence: it says that it booted parked (PARKED)
    # from its probe, which Pacemaker runs only once this promote's transition has ended.
    if member and not fenced:
        res.budget.fraction(0.5).poll(answers_or_parked, 1.0)
    else:
        Deadline(PARKED_PATIENCE if member else 0).poll(answers_or_parked, 1.0)
    if not outcome and member and not fenced and _reachable(p):
        outcome.append("answers")  # slower than a probe's seconds, yet alive: hand over
    if outcome == ["answers"]:
        return False
    if outcome == ["parked"]:
        res.log.warning("master node %s is parked (its xapi follows itself); taking over", node)
        return True
    what = "pool master %s (node %s) does not answer" % (leader, node)
    if member and fenced:
        raise ocf.generic(
            "%s; its node rejoined the cluster after its fence and has not said yet whether "
            "it booted parked (its probe runs once this transition ends): refusing for now, "
            "so that it can; the next promotion decides" % what
        )
    if member:
        raise ocf.generic(
            "%s, yet node %s is a cluster member: it may be alive (its management network "
            "lost), so no emergency transition while it is; fence node %s if it stays "
            "silent (stonith_admin --fence %s)" % (what, node, node, node)
        )
    require_fenced(res, node, seen, what)
    res.log.warning("master node %s is fenced; emergency transition here", node)
    return True


def _master_says(p, node, address, member):
    """The master at ``address`` (node ``node``), asked once, for PROBE_TIMEOUT (an
    unreachable one costs seconds, not a call's timeout): "answers" (as a master, or it
    names the master it follows now: a planned move, through it); "parked" (at boot, no
    master: it says it follows itself, or, only when a ``member`` cannot be reached,
    its node says so in this boot: :data:`PARKED`); else None."""
    from xenha.xapi import XapiUnreachable

    said = p.leaders([address])[address]
    if said == address:
        return "parked"
    if said is None:
        return "answers"
    if not isinstance(said, XenhaError):  # it follows another: a move through the pool
        return "answers" if _reachable(p) else None
    if not member or not isinstance(said, XapiUnreachable):
        return None  # it answers: its own word, whatever an attribute says
    try:
        return "parked" if pacemaker.node_attribute(node, PARKED) == address else None
    except pacemaker.PacemakerError as e:
        p.res.log.info("node %s does not say whether it is parked: %s", node, e)
        return None


def _reachable(p):
    """Whether the pool's master answers this host's pool client, asked once with a
    call's timeout (a login probe gives up after seconds)."""
    try:
        return p.client.master_reachable()
    except XenhaError:
        return False


def _host_at(api, address):
    """The host whose address is ``address`` (the master this host's xapi follows: the
    replica's own pool.master may be stale just after a rejoin)."""
    for host in api.host.get_all():
        if api.host.get_address(host) == address:
            return host
    raise ocf.generic("this host's xapi follows %s, which is no host of the pool" % address)


@AGENT.action(MASTER_ACTIONS.demote)
def demote(res):
    """Hand the master role over: to the node the transition promotes (notify data),
    else to the best other host; a pool always has a master, so with no other host
    able to take it, the role stays until a promotion elsewhere takes it. The restarts
    the move brings are waited for."""
    deadline = res.budget.fraction(0.9)
    with pool(res, STEPS) as p:
        local = p.local_view()
        try:
            if _follows(res, local) is not None:
                return ocf.SUCCESS  # this host's xapi is a slave: nothing to hand over
            if _rejoined(p, local, local.client.this_host()):  # an old, split master
                _wait_role(res, local, False, deadline)
                return ocf.SUCCESS  # it handed nothing over: its pool is not the pool
            target = _planned_target(res, p)
            if target is None:
                res.log.warning("no other host can take the pool master role; it stays here")
                return ocf.SUCCESS
            res.log.info("handing the pool master role to %s", p.describe(target))
            p.api.pool.designate_new_master(target)
            _wait_role(res, local, False, deadline)
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


@AGENT.action(MASTER_ACTIONS.notify)
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
