"""ocf:xenha:xen-vm - one VM of a XAPI pool, run on the host of the node Pacemaker picks.

Safety rules: whether the VM runs *here* is this host's hypervisor's answer
(:mod:`xenha.hypervisor`, list_domains), never a pool database's: the master may be out
of reach, and a slave's replica - or a new master's, after an emergency transition - may
be minutes old (xen-api pool_db_backup.ml pushes it to one slave at a time,
pool_db_sync_interval apart). So monitor says "not running" only when the hypervisor
has no domain of the VM here, and stop succeeds only then. A VM Running on another live
host is never started here, only migrated here live (it was moved outside the cluster);
a VM the pool database still shows on a dead host is taken
over only after Pacemaker's fencing history shows that host's node fenced after the VM
last started there; "cannot tell" (the hypervisor or XAPI does not answer) is an error,
never "not running".
"""

import functools
import os

from xenha import hypervisor, ocf, pacemaker
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.hypervisor import ABSENT, PRESENT, UNKNOWN
from xenha.pool_agent import (
    CONNECTION_PARAMETERS,
    NULL_REF,
    PARKED,
    PARKED_PATIENCE,
    QUICK,
    STEPS,
    VM_ACTIONS,
    WORK,
    Pool,
    call_timeout,
    is_xapi_failure,
    pool,
    xapi_time,
)
from xenha.xapi.faults import EMERGENCY_ERRORS

AGENT = ocf.ResourceAgent(
    "xen-vm",
    version="1.0",
    shortdesc="A VM of a XAPI pool (XenServer / XCP-ng)",
    longdesc="Starts, stops, monitors and live-migrates one VM of a XAPI pool on the "
    "pool host of the Pacemaker node it runs on. The VM is named by UUID (or a unique "
    "name-label). Whether it runs on this host is asked of the host's hypervisor "
    "(list_domains), never of a pool database: monitor needs no XAPI call, and stop "
    "succeeds only once no domain of the VM is left here. A VM the pool still shows "
    "running on a dead host is taken over only once Pacemaker has fenced that host.",
    parameters=[
        ocf.Parameter(
            "vm",
            "VM UUID or unique name-label",
            "The VM to manage: its UUID (preferred) or a name-label that no other VM has. "
            "A name-label is resolved through XAPI at start (and whenever it is not "
            "remembered) and its UUID kept for this resource in HA_RSCTMP.",
            required=True,
            unique=True,
        ),
        *CONNECTION_PARAMETERS,
        ocf.Parameter(
            "shutdown_timeout",
            "Seconds for a clean shutdown before a hard one",
            "How long stop waits for the guest to shut down cleanly before it forces the VM "
            "off. Default and upper bound: 0.6 of the stop operation's timeout; the hard "
            "shutdown gets the rest of the time.",
            type="integer",
            parse=ocf.positive,
        ),
        ocf.Parameter(
            "check_guest",
            "Check the guest agent at monitor depth 10",
            "At OCF_CHECK_LEVEL 10, also require the guest agent (PV drivers) to report the "
            "guest alive.",
            type="boolean",
            default="false",
        ),
    ],
)

LIVE = ("Running", "Paused")
# A migration's errors that say the VM cannot be taken from its recorded host: that
# host's xapi out of reach or in emergency mode, or the VM no longer running.
# CANNOT_CONTACT_HOST: the forwarding found that host's xapi restarting
# (message_forwarding.ml do_op_on_common).
NOT_FROM_THERE = {"HOST_OFFLINE", "CANNOT_CONTACT_HOST", "VM_BAD_POWER_STATE", *EMERGENCY_ERRORS}
RUNNING_TASK = ("pending", "cancelling")
POLL = 0.2  # seconds between two looks at a VM's, a domain's or a task's state
RETRY = 1.0  # seconds before a stop asks again what did not answer


# -- which VM --------------------------------------------------------------------------


def _vm(p):
    """The VM's ref; an unknown or ambiguous name is a setup error (pool())."""
    return p.client.resolve_vm(p.res.params.vm)


def _remembered_path(res):
    rsctmp = res.env.get("HA_RSCTMP", "/run/resource-agents")
    return os.path.join(rsctmp, "xenha-xen-vm", (res.instance or "default") + ".uuid")


def _remembered(res):
    """The UUID this instance's name-label last resolved to, or None."""
    try:
        with open(_remembered_path(res)) as f:
            name, uuid = (f.read().splitlines() + ["", ""])[:2]
    except OSError:
        return None
    return uuid if name == res.params.vm and hypervisor.is_uuid(uuid) else None


def _remember(res, uuid):
    path = _remembered_path(res)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path + ".new", "w") as f:
            f.write("%s\n%s\n" % (res.params.vm, uuid))
        os.rename(path + ".new", path)
    except OSError as e:
        res.log.warning("cannot remember the UUID of VM %s in %s: %s", res.params.vm, path, e)


def _resolve(p):
    """(ref, UUID) of the VM through XAPI; a name-label's UUID is remembered."""
    vm, name = _vm(p), p.res.params.vm
    if hypervisor.is_uuid(name):
        return vm, name.lower()
    uuid = p.api.VM.get_uuid(vm)
    _remember(p.res, uuid)
    return vm, uuid


def _vm_uuid(res, budget=QUICK):
    """The VM's UUID: the parameter itself, else the remembered one, else resolved
    through XAPI (calls bounded by ``budget``)."""
    name = res.params.vm
    if hypervisor.is_uuid(name):
        return name.lower()
    uuid = _remembered(res)
    if uuid is None:
        with pool(res, budget) as p:
            uuid = _resolve(p)[1]
    return uuid


def _require_hypervisor():
    """OCF_ERR_INSTALLED unless this node has a list_domains to ask (start and
    validate-all only: a probe never answers 5)."""
    tool = hypervisor.find_tool()
    if not os.access(tool, os.X_OK):
        raise ocf.OcfError(
            ocf.ERR_INSTALLED,
            "list_domains is neither on PATH nor at %s on this node: xen-vm asks it "
            "whether the VM runs here" % hypervisor.LEGACY,
        )


# -- XAPI's record ------------------------------------------------------------------------


def _state(p, vm):
    rec = p.api.VM.get_record(vm)
    return rec["power_state"], rec["resident_on"]


def _wait_for(p, vm, done, deadline):
    """Poll until ``done(power_state, resident_on)`` holds or ``deadline`` passes."""
    return deadline.poll(lambda: done(*_state(p, vm)), POLL)


def _started_at(p, vm):
    """When the VM last started (VM_metrics.start_time, epoch), None if unknown."""
    metrics = p.api.VM.get_record(vm).get("metrics", NULL_REF)
    return xapi_time(p.api.VM_metrics.get_start_time(metrics)) if metrics != NULL_REF else None


def _take_over(p, vm, there, deadline):
    """The VM is recorded live on ``there``, another host or this one without its domain.

    A host out of the cluster's membership may be dead: refuse unless its node was fenced
    after the VM last started there and after the pool last saw the host, then declare
    it dead. A member is alive, and its xapi keeps its VMs' records true: wait for it
    (within the start's time) to reset a stale one; Pacemaker starts a VM only once the
    member's own probe (its hypervisor) found it stopped there. A member fenced after the
    VM last started and parked at boot ever since (its node says so: PARKED; its xapi
    joined no pool, so no VM can have come to it since) runs it no more, yet never
    resets the record while its management network is cut: the record is reset then
    (VM.power_state_reset, which xapi refuses, HOST_IS_LIVE, while it reaches the host:
    xapi_vm.ml)."""
    from xenha.xapi import XapiError

    what = "VM %s is recorded running on host %s" % (p.res.params.vm, p.describe(there))
    node = p.node_of_host(there)
    reset = None
    member = pacemaker.is_member(node)
    if member:
        started = _started_at(p, vm)
        fenced = started is not None and pacemaker.fenced_since(node, started) is not None
        parked = functools.partial(_parked_since_boot, p, node, there)
        if fenced and Deadline(min(PARKED_PATIENCE, deadline.left())).poll(parked, 1.0):
            reset = functools.partial(p.api.VM.power_state_reset, vm)
            how = "fenced since the VM started and parked since: resetting its record"
    else:
        p.require_fenced(there, _last_start_there(p, vm, there), what)
        fenced = True
        reset = functools.partial(p.api.host.declare_dead, there)
        how = "declaring fenced host %s dead" % p.describe(there)
    if reset is not None:
        p.res.log.warning("%s; %s", what, how)
        try:
            reset()
            return
        except XapiError as e:
            if e.code != "HOST_IS_LIVE":
                raise
    if fenced:
        # Back from the fence, the host may still believe it is the pool master (an old
        # master) or not have found the master yet: the master's recover_slaves points it
        # at the master (xapi's own recovery call; slaves already following are left
        # alone), and its xapi then resets the VMs it no longer runs.
        p.res.log.info("%s, fenced since and back: waiting for its xapi to reset the VM", what)
        p.api.pool.recover_slaves()
        if member and reset is None and not _answers(p, there):
            raise ocf.generic(
                "%s, fenced since and back; its xapi does not answer, so it can reset nothing, "
                "and its node has not said that it booted parked (it says so from its probe, "
                "which Pacemaker runs once this transition ends): refusing for now; the next "
                "start decides" % what
            )
    else:
        p.res.log.info("%s, a live cluster member: waiting for its xapi to resync it", what)
    if not _wait_for(p, vm, lambda state, host: state not in LIVE or host != there, deadline):
        if fenced:
            raise ocf.generic(
                "%s, fenced since and back, and its xapi did not reset the VM in time" % what
            )
        raise ocf.generic(
            "%s, a live cluster member whose xapi keeps it so: it may well run there; "
            "refusing" % what
        )


def _runs_on_a_member(p, vm, host):
    """Whether the VM, recorded Running on ``host``, may be migrated from there: its node
    is a cluster member (alive, its xapi keeping its VMs' records true) that was not
    fenced since the VM last started. One fenced since cannot run it (a migration keeps
    the start time, so one that came there after the fence is refused, never doubled),
    and its old master may not have rejoined yet: no write before _take_over's recovery.
    An unknown start time counts as fenced since."""
    try:
        node = p.node_of_host(host)
    except XenhaError as e:
        if is_xapi_failure(e):
            raise
        return False  # a host no node maps to: not a cluster host
    if not pacemaker.is_member(node):
        return False
    started = _started_at(p, vm)
    return started is not None and pacemaker.fenced_since(node, started) is None


def _moved_live(p, vm, there, here, budget):
    """The VM is recorded Running on ``there``, another host. On a member, that is where
    it runs, moved live outside the cluster (XenCenter, ``xe vm-migrate``, a host
    evacuated): it is brought back here live, never restarted, and Pacemaker's placement
    stands. True once it runs here; False when the record is stale (no domain there:
    xenopsd's Does_not_exist, xapi_xenops.ml transform_xenops_exn), the case
    :func:`_take_over` handles, as it does a host that is no member."""
    if not _runs_on_a_member(p, vm, there):
        return False
    what = "VM %s runs on host %s, a cluster member" % (p.res.params.vm, p.describe(there))
    if not p.api.host.get_enabled(here):
        raise ocf.generic(
            "%s, and this host is disabled in the pool (maintenance, or its xapi starting): "
            "not bringing it back here; Pacemaker is to place it elsewhere" % what
        )
    p.res.log.warning("%s, moved there outside the cluster: migrating it back here, live", what)
    try:
        _migrate(p, vm, here, budget, "migration of VM %s back here" % p.res.params.vm)
    except TaskFailed as e:
        if not (e.no_domain or e.info[:1] and e.info[0] in NOT_FROM_THERE):
            raise
        # A stale record (no domain there), that host's xapi restarting or in emergency
        # mode (parked), or the VM no longer running: the cases _take_over handles.
        p.res.log.info("%s, yet it cannot be migrated from there: %s", what, e.reason)
        return False
    return True


def _answers(p, host):
    """Whether ``host``'s xapi answers a login probe (whatever it says)."""
    from xenha.xapi import XapiUnreachable

    address = p.api.host.get_address(host)
    return not isinstance(p.leaders([address])[address], XapiUnreachable)


def _parked_since_boot(p, node, host):
    """Whether ``node`` says, in this boot, that its xapi is parked at ``host``'s address."""
    try:
        return pacemaker.node_attribute(node, PARKED) == p.api.host.get_address(host)
    except pacemaker.PacemakerError as e:
        p.res.log.info("node %s does not say whether it is parked: %s", node, e)
        return False


def _last_start_there(p, vm, host):
    """The latest known time (epoch) the VM started on ``host`` or the pool last saw
    ``host`` alive; a fence must come after it."""
    known = [t for t in (p.last_seen(host), _started_at(p, vm)) if t]
    return max(known) if known else None


# -- actions ------------------------------------------------------------------------------


@AGENT.action(VM_ACTIONS.start)
def start(res):
    """Start (resume, unpause) the VM here through the pool master; done once XAPI records
    it Running here and this host's hypervisor has its domain."""
    deadline = res.budget.fraction(0.9)
    _require_hypervisor()
    with pool(res, WORK) as p:
        p.client.follow_current_master()
        (vm, uuid), here = _resolve(p), p.local_host()
        if p.client.master() == here:
            _require_the_pools_master(p, here)
        domain = hypervisor.until(uuid, deadline)
        if domain.state == UNKNOWN:
            raise ocf.generic("cannot tell whether VM %s runs here: %s" % (uuid, domain.reason))
        state, there = _state(p, vm)
        if domain.state == PRESENT and (state not in LIVE or there != here):
            raise ocf.generic(
                "VM %s already has a domain on this host (%s), yet the pool records it %s "
                "on %s; not starting another" % (res.params.vm, domain.reason, state, there)
            )
        moved = state == "Running" and there != here and _moved_live(p, vm, there, here, res.budget)
        if not moved and state in LIVE and (there != here or domain.state == ABSENT):
            _take_over(p, vm, there, deadline)
            state, there = _state(p, vm)
            if state in LIVE:
                raise ocf.generic(
                    "VM %s is still recorded %s on host %s after the takeover"
                    % (res.params.vm, state, p.describe(there))
                )
        if state == "Paused":
            p.api.VM.unpause(vm)
        elif state == "Suspended":
            p.api.VM.resume_on(vm, here, False, False)
        elif state == "Halted":
            p.api.VM.start_on(vm, here, False, False)
        if not _wait_for(p, vm, lambda state, host: (state, host) == ("Running", here), deadline):
            raise ocf.generic("VM %s did not reach Running on this host" % res.params.vm)
        domain = hypervisor.until(uuid, deadline, (PRESENT,))
        if domain.state != PRESENT:
            raise ocf.generic(
                "VM %s is recorded Running here, but this host's hypervisor: %s"
                % (res.params.vm, domain.reason)
            )
        _publish(p)
        res.log.info("VM %s is running here (%s)", res.params.vm, domain.reason)


@AGENT.action(VM_ACTIONS.stop)
def stop(res):
    """Done once this host's hypervisor has no domain of the VM. While it has one: a clean
    shutdown through XAPI for at most 0.6 of the timeout (less if shutdown_timeout says
    so), then hard ones up to 0.9 of it. Whatever does not answer meanwhile (XAPI, the
    hypervisor) is asked again; a domain still here at the end fails the stop, and
    Pacemaker fences this node: correct, and safe."""
    deadline = res.budget.fraction(0.9)
    window = res.timeout * 0.6
    clean_for = min(res.params.shutdown_timeout or window, window)
    if clean_for < (res.params.shutdown_timeout or 0):
        res.log.warning(
            "shutdown_timeout %ds does not fit in the stop timeout %ds; clean shutdown gets %ds",
            res.params.shutdown_timeout,
            res.timeout,
            clean_for,
        )
    clean_until = res.budget.fraction(clean_for / res.timeout)
    why = _Stopping(res, _uuid_to_stop(res, deadline), clean_until, deadline).run()
    if why is not None:
        raise ocf.generic(
            "VM %s is not stopped on this host after %ds: %s"
            % (res.params.vm, deadline.elapsed(), why)
        )
    res.log.info("VM %s has no domain on this host", res.params.vm)


def _uuid_to_stop(res, deadline):
    """The UUID whose domain stop must see gone, or None: a name-label with no VM in the
    pool, or (ambiguous) with none of its VMs here. XAPI is asked, again within the
    deadline, only for a name-label not remembered."""
    from xenha.xapi import XapiUnreachable

    name = res.params.vm
    if hypervisor.is_uuid(name):
        return name.lower()
    uuid = _remembered(res)
    why = None
    while uuid is None:
        try:
            uuid = _look_up_to_stop(res, deadline)
            if uuid is None:
                return None
        except XapiUnreachable as e:
            why = "cannot reach XAPI: %s" % e
        except XenhaError as e:
            why = str(e)
        if uuid is None:
            if deadline.expired():
                raise ocf.generic("cannot find out which VM %s is: %s" % (name, why))
            res.log.warning("finding VM %s: %s", name, why)
            deadline.sleep(RETRY)
    return uuid


def _look_up_to_stop(res, deadline):
    """The UUID of the VM named by the name-label (remembered), else None when no VM has
    that name or, several having it, none has a domain here (an error if one has)."""
    p = Pool(res, _call_bound(res, deadline))
    try:
        try:
            return _resolve(p)[1]
        except XenhaError as e:
            if is_xapi_failure(e):
                raise
            problem = e
        uuids = sorted(p.api.VM.get_uuid(r) for r in p.api.VM.get_by_name_label(res.params.vm))
    finally:
        p.close()
    for uuid in uuids:  # ambiguous: stopped here only if none of them has a domain here
        answer = hypervisor.until(uuid, deadline)
        if answer.state != ABSENT:
            raise ocf.generic(
                "%s, and VM %s: %s; stop it by hand, or give the resource a UUID"
                % (problem, uuid, answer.reason)
            )
    res.log.info("%s; none has a domain on this host", problem)
    return None


def _call_bound(res, deadline):
    """Seconds per XAPI call of a stop step: its WORK share, and two tries within what
    is left (at least one second)."""
    return max(1.0, min(call_timeout(res, WORK), deadline.left() / 2))


class _Stopping:
    """One stop's rounds: look at the hypervisor, act through XAPI, until no domain."""

    def __init__(self, res, uuid, clean_until, deadline):
        self.res, self.uuid, self.deadline = res, uuid, deadline
        self.clean_until = clean_until  # a clean shutdown is asked for only before then
        self.tried_clean = False
        self.forcing = False

    def run(self):
        """None once no domain of the VM is here, else why not by the deadline."""
        from xenha.xapi import XapiUnreachable

        if self.uuid is None:
            return None
        why = None
        while True:
            answer = hypervisor.ask(
                self.uuid, min(hypervisor.BOUND, max(self.deadline.left(), 0.5))
            )
            if answer.state == ABSENT:
                return None
            last, why = why, answer.reason
            if answer.state == PRESENT:
                try:
                    why = self._shut_down()
                except XapiUnreachable as e:
                    why = "cannot reach XAPI: %s" % e
                except XenhaError as e:  # XAPI's errors, and this node's setup
                    why = str(e)
            if self.deadline.expired():
                return why
            if why is not None and why != last:
                self.res.log.warning("VM %s: %s; trying again", self.res.params.vm, why)
            self.deadline.sleep(POLL if why is None else RETRY)

    def _shut_down(self):
        """One shutdown through XAPI; None if it was asked for, else why not."""
        p = Pool(self.res, _call_bound(self.res, self.deadline))
        try:
            vm = p.api.VM.get_by_uuid(self.uuid)
            state, there = _state(p, vm)
            here = p.local_host()
            if state not in LIVE or there != here:
                where = p.describe(there) if there != NULL_REF else "no host"
                return (
                    "its domain runs here, but the pool records it %s on %s; not asking "
                    "xapi to stop it there" % (state, where)
                )
            if state == "Running" and not self.tried_clean and not self.clean_until.expired():
                self.tried_clean = True
                _shutdown(p, vm, "clean_shutdown", self.clean_until.left())
                return None
            if not self.forcing:
                self.res.log.warning(
                    "VM %s did not shut down cleanly; forcing it off", self.res.params.vm
                )
                self.forcing = True
            _shutdown(p, vm, "hard_shutdown", self.deadline.left())
            return None
        finally:
            p.close()


def _shutdown(p, vm, call, seconds):
    """``VM.<call>``, giving XAPI ``seconds`` (at least one) to report it done."""
    patient = p.with_timeout(max(seconds, 1.0))
    try:
        getattr(patient.api.VM, call)(vm)
    finally:
        patient.close()


@AGENT.action(VM_ACTIONS.monitor)
@AGENT.action(VM_ACTIONS.guest_monitor)
def monitor(res):
    """This host's hypervisor answers: a domain of the VM here is running (paused too),
    none is not running, anything else is an error with a reason. No XAPI call for a VM
    given by UUID, except the guest check at depth 10."""
    uuid = _vm_uuid(res)
    answer = hypervisor.until(uuid, res.budget.fraction(0.3))
    if answer.state == ABSENT:
        return res.not_running("VM %s has no domain on this host" % res.params.vm)
    if answer.state == UNKNOWN:
        raise ocf.generic(
            "cannot tell whether VM %s runs on this host: %s" % (res.params.vm, answer.reason)
        )
    if answer.paused:
        res.log.warning("VM %s is paused on this host", res.params.vm)
    if res.depth >= 10 and res.params.check_guest:
        with pool(res, QUICK) as p:
            _check_guest(p, p.api.VM.get_by_uuid(uuid))
    return ocf.SUCCESS


def _check_guest(p, vm):
    metrics = p.api.VM.get_guest_metrics(vm)
    if metrics == NULL_REF:
        raise ocf.generic("VM %s: no guest agent reports from the guest" % p.res.params.vm)
    if not p.api.VM_guest_metrics.get_live(metrics):
        raise ocf.generic("VM %s: the guest agent stopped reporting" % p.res.params.vm)


@AGENT.action(VM_ACTIONS.migrate_to)
def migrate_to(res):
    """``Async.VM.pool_migrate``, its task polled up to 0.85 of the timeout; a migration
    still running then is cancelled and waited for, so none carries on behind a failed
    action. Done once XAPI records the VM Running on the target and this host's
    hypervisor has no domain of it left."""
    target = res.meta("migrate_target")
    if not target:
        raise ocf.configured("migrate_to without OCF_RESKEY_CRM_meta_migrate_target")
    with pool(res, STEPS) as p:
        (vm, uuid), here, dest = _resolve(p), p.local_host(), p.host_of_node(target)
        state, there = _state(p, vm)
        if not (state in LIVE and there == dest):
            if state != "Running" or not (there == here or _runs_on_a_member(p, vm, there)):
                raise ocf.generic(
                    "VM %s is not running on this host; cannot migrate it" % res.params.vm
                )
            if there != here:
                res.log.warning(
                    "VM %s runs on host %s, moved there outside the cluster: migrating it "
                    "from there to %s, live",
                    res.params.vm,
                    p.describe(there),
                    target,
                )
            _migrate(p, vm, dest, res.budget, "migration of VM %s to %s" % (res.params.vm, target))
    left = hypervisor.until(uuid, res.budget.fraction(0.95), (ABSENT,))
    if left.state != ABSENT:
        raise ocf.generic(
            "VM %s is recorded on %s, but this host's hypervisor: %s"
            % (res.params.vm, target, left.reason)
        )
    res.log.info("VM %s migrated to %s", res.params.vm, target)


def _require_the_pools_master(p, here):
    """This host's own xapi is the master start would act through. An old master back
    from its fence is still master of its own split pool until it rejoins: what it
    accepts meanwhile is another pool's, and a VM started through it may run a second
    time. So start only once the other members confirm it (:meth:`Pool.rival_master`)."""
    rival = p.rival_master(here)
    if rival:
        raise ocf.generic(
            "this host's xapi acts as the pool master, but %s is the master other hosts "
            "answer for: an old master that has not rejoined its pool yet; not starting "
            "VM %s through it" % (rival, p.res.params.vm)
        )


def _publish(p):
    """Push the master's database to every host now (``Pool.sync_database``), so that no
    replica still places the VM where it was. xapi pushes it only every
    pool_db_sync_interval (300 s), one slave at a time (pool_db_backup.ml), and after an
    emergency transition each host's xapi restarts and shuts down any local domain that
    the new master's database - a replica - says runs on another host
    (xapi_xenops.ml resync_resident_on: "VM %s was actually running ... terminating").
    The VM runs either way: a failed push is a warning, not a failed action."""
    from xenha.xapi import XapiError, XapiUnreachable

    try:
        p.api.pool.sync_database()
    except (XapiError, XapiUnreachable) as e:
        p.res.log.warning(
            "cannot push the pool database to the hosts (%s): until xapi's own push, a "
            "new master after an emergency transition would believe the VM elsewhere",
            e,
        )


class TaskFailed(ocf.OcfError):
    """An XAPI task failed (an OCF_ERR_GENERIC): ``info`` is xapi's error."""

    def __init__(self, reason, info):
        super().__init__(ocf.ERR_GENERIC, reason)
        self.info = info

    @property
    def no_domain(self):
        """xenopsd had no domain of the VM (Does_not_exist, as xapi_xenops.ml
        transform_xenops_exn words it): a migration's source record was stale."""
        return self.info[:1] == ["INTERNAL_ERROR"] and "does not exist in xenopsd" in " ".join(
            self.info
        )


def _migrate(p, vm, dest, budget, what):
    """Live-migrate the VM to host ``dest`` (``Async.VM.pool_migrate``), its task polled
    up to 0.85 of the action's time, then cancelled and waited for, so that none carries
    on behind a failed action; done once XAPI records it Running there."""
    task = p.api.Async.VM.pool_migrate(vm, dest, {"live": "true"})
    _await_task(p, task, budget.fraction(0.85), budget.fraction(0.95), what)
    if _state(p, vm) != ("Running", dest):
        raise ocf.generic(
            "the %s ended, yet VM %s is not running on host %s"
            % (what, p.res.params.vm, p.describe(dest))
        )
    _publish(p)


def _await_task(p, task, deadline, cancelled_by, what):
    """Wait for an XAPI task until ``deadline``; a task still running then is cancelled
    and waited for until ``cancelled_by``. Raises with a reason unless it succeeded
    (:class:`TaskFailed` when it failed)."""
    from xenha.xapi import XapiError

    status = _task_end(p, task, deadline)
    if status in RUNNING_TASK:
        p.res.log.warning("%s is still running at its deadline; cancelling it", what)
        try:
            p.api.task.cancel(task)
        except XapiError as e:  # it may have just ended
            p.res.log.warning("cannot cancel the %s: %s", what, e)
        status = _task_end(p, task, cancelled_by)
    if status == "success":
        p.api.task.destroy(task)
        return
    if status in RUNNING_TASK:
        raise ocf.generic("%s did not end in time, even cancelled (task %s)" % (what, status))
    info = p.api.task.get_error_info(task)
    p.api.task.destroy(task)
    raise TaskFailed("%s %s: %s" % (what, status, " ".join(info)), info)


def _task_end(p, task, deadline):
    """The task's status once it ends, or at ``deadline``."""
    status = []

    def ended():
        status[:] = [p.api.task.get_status(task)]
        return status[0] not in RUNNING_TASK

    deadline.poll(ended, POLL)
    return status[0]


@AGENT.action(VM_ACTIONS.migrate_from)
def migrate_from(res):
    """Done once this host's hypervisor has the VM's domain (a migrated domain has a
    temporary id until xenopsd renames it: asked again meanwhile)."""
    answer = hypervisor.until(_vm_uuid(res), res.budget.fraction(0.9))
    if answer.state != PRESENT:
        raise ocf.generic("VM %s did not arrive on this host: %s" % (res.params.vm, answer.reason))


@AGENT.action("validate-all", timeout=30)
def validate_all(res):
    _require_hypervisor()
    with pool(res, QUICK) as p:
        vm = _resolve(p)[0]
        if p.api.VM.get_is_a_template(vm):
            raise ocf.configured("%s is a template, not a VM" % res.params.vm)
        if p.api.VM.get_is_control_domain(vm):
            raise ocf.configured("%s is a control domain, not a VM" % res.params.vm)
        p.local_host()


def main():
    AGENT.run()


if __name__ == "__main__":
    main()
