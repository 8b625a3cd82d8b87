"""VM lifecycle as xapi does it (xapi_vm.ml, xapi_vm_lifecycle.ml), acting on the truth."""

from ..db import now_datetime
from ..errors import Failure
from ..schema import NULL_REF
from . import call

# xapi_vm_lifecycle.ml allowed_power_states, for the operations simulated here.
ALLOWED = {
    "start": ["Halted"],
    "clean_shutdown": ["Running"],
    "clean_reboot": ["Running"],
    "pool_migrate": ["Running"],
    "suspend": ["Running"],
    "resume": ["Suspended"],
    "hard_reboot": ["Paused", "Running"],
    "hard_shutdown": ["Paused", "Suspended", "Running"],
}


def _vm(ctx, ref, op):
    vm = ctx.db.record("VM", ref)
    if vm["is_a_template"]:
        raise Failure("VM_IS_TEMPLATE", ref)
    if vm["is_control_domain"]:
        raise Failure("OPERATION_NOT_ALLOWED", "%s is not allowed on a control domain" % op)
    allowed = ALLOWED[op]
    if vm["power_state"] not in allowed:
        raise Failure(
            "VM_BAD_POWER_STATE",
            ref,
            ";".join(s.lower() for s in allowed),
            vm["power_state"].lower(),
        )
    return vm


def _resident_host(ctx, vm):
    """The call is forwarded to the VM's host: it must be reachable."""
    return ctx.pool.require_reach(ctx.host, vm["resident_on"])


def _can_boot_on(ctx, host_ref):
    host = ctx.db.record("host", host_ref)
    if not host["enabled"]:
        raise Failure("HOST_DISABLED", host_ref)
    if not ctx.pool.is_host_alive(ctx.host, host_ref):
        raise Failure("HOST_OFFLINE", host_ref)
    return ctx.pool.require_reach(ctx.host, host_ref)


def started(db, vm):
    """A domain of ``vm`` started: VM_metrics.start_time, and a guest agent reporting."""
    db.record("VM_metrics", vm["metrics"])["start_time"] = now_datetime()
    vm["guest_metrics"] = db.create("VM_guest_metrics")


def _boot(ctx, ref, vm, host_ref, paused):
    target = _can_boot_on(ctx, host_ref)
    domid = ctx.pool.truth.start(target.uuid, vm["uuid"])
    started(ctx.db, vm)
    ctx.db.set("VM", ref, "resident_on", host_ref)
    vm["power_state"] = "Paused" if paused else "Running"
    vm["domid"] = str(domid)
    return ""


def _halted(ctx, ref, vm):
    """force_state_reset to Halted: the DB forgets where the VM ran."""
    ctx.db.set("VM", ref, "resident_on", NULL_REF)
    vm["guest_metrics"] = NULL_REF
    vm["power_state"] = "Halted"
    vm["domid"] = "-1"


@call("VM.start")
def start(ctx, ref, start_paused, force):
    vm = _vm(ctx, ref, "start")
    candidates = []
    for h in ctx.db.tables["host"]:
        try:
            _can_boot_on(ctx, h)
        except Failure:
            continue
        candidates.append(h)
    if not candidates:
        raise Failure("NO_HOSTS_AVAILABLE")
    if vm["affinity"] in candidates:
        host_ref = vm["affinity"]
    else:
        host_ref = min(candidates, key=lambda h: len(ctx.db.record("host", h)["resident_VMs"]))
    return _boot(ctx, ref, vm, host_ref, start_paused)


@call("VM.start_on")
def start_on(ctx, ref, host_ref, start_paused, force):
    vm = _vm(ctx, ref, "start")
    ctx.db.record("host", host_ref)
    return _boot(ctx, ref, vm, host_ref, start_paused)


def _shutdown(ctx, ref, op):
    vm = _vm(ctx, ref, op)
    if vm["power_state"] != "Suspended":
        host = _resident_host(ctx, vm)
        ctx.pool.truth.stop(host.uuid, vm["uuid"])
    _halted(ctx, ref, vm)
    return ""


@call("VM.clean_shutdown")
def clean_shutdown(ctx, ref):
    return _shutdown(ctx, ref, "clean_shutdown")


@call("VM.hard_shutdown")
def hard_shutdown(ctx, ref):
    return _shutdown(ctx, ref, "hard_shutdown")


def _reboot(ctx, ref, op):
    vm = _vm(ctx, ref, op)
    host = _resident_host(ctx, vm)
    ctx.pool.truth.stop(host.uuid, vm["uuid"])
    vm["domid"] = str(ctx.pool.truth.start(host.uuid, vm["uuid"]))
    vm["power_state"] = "Running"
    return ""


@call("VM.clean_reboot")
def clean_reboot(ctx, ref):
    return _reboot(ctx, ref, "clean_reboot")


@call("VM.hard_reboot")
def hard_reboot(ctx, ref):
    return _reboot(ctx, ref, "hard_reboot")


@call("VM.suspend")
def suspend(ctx, ref):
    vm = _vm(ctx, ref, "suspend")
    host = _resident_host(ctx, vm)
    ctx.pool.truth.stop(host.uuid, vm["uuid"])
    _halted(ctx, ref, vm)
    vm["power_state"] = "Suspended"
    return ""


@call("VM.resume")
def resume(ctx, ref, start_paused, force):
    vm = _vm(ctx, ref, "resume")
    vm["power_state"] = "Halted"  # the host is chosen as for start
    try:
        return start(ctx, ref, start_paused, force)
    except Failure:
        vm["power_state"] = "Suspended"
        raise


@call("VM.resume_on")
def resume_on(ctx, ref, host_ref, start_paused, force):
    vm = _vm(ctx, ref, "resume")
    ctx.db.record("host", host_ref)
    return _boot(ctx, ref, vm, host_ref, start_paused)


@call("VM.unpause")
def unpause(ctx, ref):
    vm = ctx.db.record("VM", ref)
    if vm["power_state"] != "Paused":
        raise Failure("VM_BAD_POWER_STATE", ref, "paused", vm["power_state"].lower())
    vm["power_state"] = "Running"
    return ""


@call("VM.pool_migrate")
def pool_migrate(ctx, ref, host_ref, options):
    vm = _vm(ctx, ref, "pool_migrate")
    src = _resident_host(ctx, vm)
    dst = _can_boot_on(ctx, host_ref)
    if src is dst:
        raise Failure("OPERATION_NOT_ALLOWED", "the VM already runs on the destination host")
    vm["domid"] = str(ctx.pool.truth.migrate(src.uuid, dst.uuid, vm["uuid"]))
    ctx.db.set("VM", ref, "resident_on", host_ref)
    return ""


@call("VM.power_state_reset")
def power_state_reset(ctx, ref):
    """xapi_vm.ml: never for a control domain; for a running VM, only when its host is
    this one with no domain, or another host that is not alive."""
    vm = ctx.db.record("VM", ref)
    if vm["is_control_domain"]:
        raise Failure("CANNOT_RESET_CONTROL_DOMAIN", ref)
    if vm["power_state"] in ("Running", "Paused"):
        resident = vm["resident_on"]
        if resident == ctx.host.ref:
            if vm["uuid"] in ctx.pool.truth.domains.get(ctx.host.uuid, {}):
                raise Failure("DOMAIN_EXISTS", ref)
        elif resident != NULL_REF and ctx.pool.is_host_alive(ctx.host, resident):
            raise Failure("HOST_IS_LIVE", resident)
    _halted(ctx, ref, vm)
    return ""
