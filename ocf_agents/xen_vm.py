"""ocf:xenha:xen-vm - one VM of a XAPI pool, run on the host of the node Pacemaker picks.

Safety rules: a VM Running on another live host is never started here; a VM the
pool database still shows on a dead host is taken over only after Pacemaker's
fencing history shows that host's node fenced after the VM last started there;
"cannot tell" (XAPI unreachable) is an error, never "not running".
"""

from xenha import ocf, pacemaker
from xenha.errors import XenhaError
from xenha.pool_agent import (
    CONNECTION_PARAMETERS,
    NULL_REF,
    QUICK,
    STEPS,
    WORK,
    is_xapi_failure,
    pool,
    xapi_time,
)

AGENT = ocf.ResourceAgent(
    "xen-vm",
    version="1.0",
    shortdesc="A VM of a XAPI pool (XenServer / XCP-ng)",
    longdesc="Starts, stops, monitors and live-migrates one VM of a XAPI pool on the "
    "pool host of the Pacemaker node it runs on. The VM is named by UUID (or a unique "
    "name-label). A VM the pool still shows running on a dead host is taken over only "
    "once Pacemaker has fenced that host.",
    parameters=[
        ocf.Parameter(
            "vm",
            "VM UUID or unique name-label",
            "The VM to manage: its UUID (preferred) or a name-label that no other VM has.",
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
RUNNING_TASK = ("pending", "cancelling")
POLL = 0.2  # seconds between two looks at a VM's or a task's state


def _vm(p):
    """The VM's ref; an unknown or ambiguous name is a configuration error."""
    return p.client.resolve_vm(p.res.params.vm)


def _state(p, vm):
    rec = p.api.VM.get_record(vm)
    return rec["power_state"], rec["resident_on"]


def _vm_to_stop(p, here):
    """The VM's ref, or None when the name resolves to nothing live on this host (a VM
    that does not exist is stopped; an ambiguous name is an error only if one of its
    VMs runs here)."""
    try:
        return _vm(p)
    except XenhaError as e:
        if is_xapi_failure(e):
            raise
        live_here = [(state, here) for state in LIVE]
        if any(_state(p, ref) in live_here for ref in p.api.VM.get_by_name_label(p.res.params.vm)):
            raise ocf.configured(str(e)) from None
        p.res.log.info("%s; nothing of that name runs on this host", e)
        return None


def _wait_for(p, vm, done, deadline):
    """Poll until ``done(power_state, resident_on)`` holds or ``deadline`` passes."""
    return deadline.poll(lambda: done(*_state(p, vm)), POLL)


def _started_at(p, vm):
    """When the VM last started (VM_metrics.start_time, epoch), None if unknown."""
    metrics = p.api.VM.get_record(vm).get("metrics", NULL_REF)
    return xapi_time(p.api.VM_metrics.get_start_time(metrics)) if metrics != NULL_REF else None


def _take_over(p, vm, there, deadline):
    """The VM is recorded live on another host, ``there``.

    A host out of the cluster's membership may be dead: refuse unless its node was fenced
    after the VM last started there and after the pool last saw the host, then declare
    it dead. A member is alive, and its xapi keeps its VMs' records true: if it was
    fenced after the VM started, it rebooted since and the record is stale until its
    xapi has rejoined the pool, so wait for that (within the start's time); else the VM
    may well run there: refuse."""
    from xenha.xapi import XapiError

    what = "VM %s is recorded running on host %s" % (p.res.params.vm, p.describe(there))
    node = p.node_of_host(there)
    if pacemaker.is_member(node):
        started = _started_at(p, vm)
        if started is None or pacemaker.fenced_since(node, started) is None:
            raise ocf.generic("%s, a live cluster member; refusing" % what)
    else:
        p.require_fenced(there, _last_start_there(p, vm, there), what)
        p.res.log.warning("declaring fenced host %s dead", p.describe(there))
        try:
            p.api.host.declare_dead(there)
            return
        except XapiError as e:
            if e.code != "HOST_IS_LIVE":
                raise
    # Back from the fence, the host may still believe it is the pool master (an old
    # master) or not have found the master yet: the master's recover_slaves points it at
    # the master (xapi's own recovery call; slaves already following are left alone), and
    # its xapi then resets the VMs it no longer runs.
    p.res.log.info("%s, fenced since and back: waiting for its xapi to reset the VM", what)
    p.api.pool.recover_slaves()
    if not _wait_for(p, vm, lambda state, host: state not in LIVE or host != there, deadline):
        raise ocf.generic(
            "%s, fenced since and back, and its xapi did not reset the VM in time" % what
        )


def _last_start_there(p, vm, host):
    """The latest known time (epoch) the VM started on ``host`` or the pool last saw
    ``host`` alive; a fence must come after it."""
    known = [t for t in (p.last_seen(host), _started_at(p, vm)) if t]
    return max(known) if known else None


@AGENT.action("start", timeout=120)
def start(res):
    deadline = res.budget.fraction(0.9)
    with pool(res, WORK) as p:
        p.client.follow_current_master()
        vm, here = _vm(p), p.local_host()
        state, there = _state(p, vm)
        if state in LIVE and there != here:
            _take_over(p, vm, there, deadline)
            state, there = _state(p, vm)
            if state in LIVE and there != here:
                raise ocf.generic(
                    "VM %s is still recorded %s after the takeover" % (res.params.vm, state)
                )
        if state == "Paused":
            p.api.VM.unpause(vm)
        elif state == "Suspended":
            p.api.VM.resume_on(vm, here, False, False)
        elif state == "Halted":
            p.api.VM.start_on(vm, here, False, False)
        if not _wait_for(p, vm, lambda state, host: (state, host) == ("Running", here), deadline):
            raise ocf.generic("VM %s did not reach Running on this host" % res.params.vm)
        res.log.info("VM %s is running here", res.params.vm)


@AGENT.action("stop", timeout=120)
def stop(res):
    """Clean shutdown for at most 0.6 of the timeout (less if shutdown_timeout says so),
    then a hard one with the rest of the time up to 0.9 of it."""
    from xenha.xapi import XapiError, XapiUnreachable

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
    with pool(res, WORK) as p:
        try:
            here = p.local_host()
            vm = _vm_to_stop(p, here)
            state, there = _state(p, vm) if vm else (None, None)
        except XapiUnreachable as e:
            if _live_here_without_master(p, e):
                raise ocf.generic(
                    "cannot reach the pool master (%s) to stop VM %s, which runs on this host"
                    % (e, res.params.vm)
                ) from None
            res.log.warning(
                "pool master unreachable; this host's xapi does not run VM %s", res.params.vm
            )
            return ocf.SUCCESS
        if vm is None:
            return ocf.SUCCESS
        if state not in LIVE or there != here:
            res.log.info("VM %s is %s, not on this host", res.params.vm, state)
            return ocf.SUCCESS
        try:
            _shutdown(p, vm, "clean_shutdown", clean_for)
        except (XapiError, XapiUnreachable) as e:  # the hard shutdown follows
            res.log.warning("clean shutdown of VM %s: %s", res.params.vm, e)
        if _state(p, vm)[0] != "Halted":
            res.log.warning("VM %s did not shut down cleanly; forcing it off", res.params.vm)
            _shutdown(p, vm, "hard_shutdown", deadline.left())
        if not _wait_for(p, vm, lambda state, host: state == "Halted", deadline):
            raise ocf.generic(
                "VM %s is still %s after a hard shutdown" % (res.params.vm, _state(p, vm)[0])
            )
        res.log.info("VM %s is halted", res.params.vm)


def _shutdown(p, vm, call, seconds):
    """``VM.<call>``, giving XAPI ``seconds`` (at least one) to report it done."""
    patient = p.with_timeout(max(seconds, 1.0))
    try:
        getattr(patient.api.VM, call)(vm)
    finally:
        patient.close()


@AGENT.action("monitor", timeout=30, interval=10, depth=0)
@AGENT.action("monitor", timeout=30, interval=60, depth=10)
def monitor(res):
    from xenha.xapi import XapiUnreachable

    with pool(res, QUICK) as p:
        try:
            vm, here = _vm(p), p.local_host()
            state, there = _state(p, vm)
        except XapiUnreachable as e:
            return _monitor_without_master(p, e)
        if state not in LIVE:
            return res.not_running("VM %s is %s" % (res.params.vm, state))
        if there != here:
            return res.not_running("VM %s runs on another host" % res.params.vm)
        if state == "Paused":
            res.log.warning("VM %s is paused on this host", res.params.vm)
        if res.depth >= 10 and res.params.check_guest:
            _check_guest(p, vm)
    return ocf.SUCCESS


def _monitor_without_master(p, error):
    """The pool master does not answer (it may be failing over): this host's own xapi
    can still vouch for a VM it runs; anything else is "cannot tell", an error."""
    if _live_here_without_master(p, error):
        p.res.log.warning("pool master unreachable; this host's xapi runs VM %s", p.res.params.vm)
        return ocf.SUCCESS
    raise ocf.generic(
        "cannot reach the pool master (%s) and this host's xapi does not run VM %s"
        % (error, p.res.params.vm)
    )


def _live_here_without_master(p, error):
    """Whether this host's own xapi (slave-local session) runs the VM, asked when the
    pool master does not answer (``error``); "cannot tell" if it does not answer either."""
    from xenha.xapi import XapiUnreachable

    local = p.local_view()
    try:
        here = local.client.this_host()
        vm = _vm_to_stop(local, here)
        return vm is not None and _state(local, vm) in [(state, here) for state in LIVE]
    except XapiUnreachable:
        raise ocf.generic("cannot reach XAPI: %s" % error) from None
    finally:
        local.close()


def _check_guest(p, vm):
    metrics = p.api.VM.get_guest_metrics(vm)
    if metrics == NULL_REF:
        raise ocf.generic("VM %s: no guest agent reports from the guest" % p.res.params.vm)
    if not p.api.VM_guest_metrics.get_live(metrics):
        raise ocf.generic("VM %s: the guest agent stopped reporting" % p.res.params.vm)


@AGENT.action("migrate_to", timeout=300)
def migrate_to(res):
    """``Async.VM.pool_migrate``, its task polled up to 0.85 of the timeout; a migration
    still running then is cancelled and waited for, so none carries on behind a failed
    action."""
    target = res.meta("migrate_target")
    if not target:
        raise ocf.configured("migrate_to without OCF_RESKEY_CRM_meta_migrate_target")
    with pool(res, STEPS) as p:
        vm, here, dest = _vm(p), p.local_host(), p.host_of_node(target)
        state, there = _state(p, vm)
        if state in LIVE and there == dest:
            return ocf.SUCCESS
        if state != "Running" or there != here:
            raise ocf.generic(
                "VM %s is not running on this host; cannot migrate it" % res.params.vm
            )
        task = p.api.Async.VM.pool_migrate(vm, dest, {"live": "true"})
        what = "migration of VM %s to %s" % (res.params.vm, target)
        _await_task(p, task, res.budget.fraction(0.85), res.budget.fraction(0.95), what)
        if _state(p, vm) != ("Running", dest):
            raise ocf.generic(
                "VM %s is not running on %s after the migration" % (res.params.vm, target)
            )
        res.log.info("VM %s migrated to %s", res.params.vm, target)


def _await_task(p, task, deadline, cancelled_by, what):
    """Wait for an XAPI task until ``deadline``; a task still running then is cancelled
    and waited for until ``cancelled_by``. Raises with a reason unless it succeeded."""
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
    raise ocf.generic("%s %s: %s" % (what, status, " ".join(info)))


def _task_end(p, task, deadline):
    """The task's status once it ends, or at ``deadline``."""
    status = []

    def ended():
        status[:] = [p.api.task.get_status(task)]
        return status[0] not in RUNNING_TASK

    deadline.poll(ended, POLL)
    return status[0]


@AGENT.action("migrate_from", timeout=60)
def migrate_from(res):
    with pool(res, QUICK) as p:
        vm, here = _vm(p), p.local_host()
        state, there = _state(p, vm)
        if state != "Running" or there != here:
            raise ocf.generic(
                "VM %s did not arrive on this host (it is %s elsewhere)" % (res.params.vm, state)
            )


@AGENT.action("validate-all", timeout=30)
def validate_all(res):
    with pool(res, QUICK) as p:
        vm = _vm(p)
        if p.api.VM.get_is_a_template(vm):
            raise ocf.configured("%s is a template, not a VM" % res.params.vm)
        if p.api.VM.get_is_control_domain(vm):
            raise ocf.configured("%s is a control domain, not a VM" % res.params.vm)
        p.local_host()


def main():
    AGENT.run()


if __name__ == "__main__":
    main()
