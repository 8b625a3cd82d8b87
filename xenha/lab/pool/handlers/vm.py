"""VM lifecycle as xapi does it (xapi_vm.ml, xapi_vm_lifecycle.ml), acting on the truth."""

from ..api_errors import Failure
from ..lifecycle import force_halted, running_on
from ..schema import NULL_REF
from . import call

# xapi_vm_lifecycle.ml allowed_power_states, for the operations simulated here.
ALLOWED = {
    "start": ["Halted"],
    "clean_shutdown": ["Running"],
    "clean_reboot": ["Running"],
    "pool_migrate": ["Running"],
    "suspend": ["Running"],
    "pause": ["Running"],
    "unpause": ["Paused"],
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


def memory_needed(vm):
    """What a VM needs free on a host to start or arrive there: memory_check.ml's
    vm_compute_start_memory with the default Dynamic_min policy (dynamic_min), plus
    its overhead (the shadow memory of HVM guests is not modelled)."""
    return vm["memory_dynamic_min"] + vm["memory_overhead"]


def free_memory(db, host_ref, ignore=None):
    """host.compute_free_memory as memory_check.ml computes it from the database, not
    from the asynchronous host_metrics.memory_free: the host's total less its own
    overhead and what each VM resident there uses (its control domain too) or scheduled
    there (but ``ignore``, the VM asking, not counted twice), never below 0."""
    host = db.record("host", host_ref)
    total = db.record("host_metrics", host["metrics"])["memory_total"]
    used = sum(
        memory_needed(vm)
        for ref, vm in db.tables["VM"].items()
        if vm["resident_on"] == host_ref
        or (vm["scheduled_to_be_resident_on"] == host_ref and ref != ignore)
    )
    return max(0, total - host["memory_overhead"] - used)


def _can_boot_on(ctx, host_ref, vm_ref):
    """xapi_vm_helpers.ml assert_can_boot_here: enabled, alive, and enough free memory
    (assert_enough_memory_available: HOST_NOT_ENOUGH_FREE_MEMORY needed, available)."""
    host = ctx.db.record("host", host_ref)
    if not host["enabled"]:
        raise Failure("HOST_DISABLED", host_ref)
    if not ctx.pool.is_host_alive(ctx.host, host_ref):
        raise Failure("HOST_OFFLINE", host_ref)
    needed = memory_needed(ctx.db.record("VM", vm_ref))
    available = free_memory(ctx.db, host_ref, ignore=vm_ref)
    if available < needed:
        raise Failure("HOST_NOT_ENOUGH_FREE_MEMORY", needed, available)


def _boot(ctx, ref, vm, host_ref, paused):
    _can_boot_on(ctx, host_ref, ref)
    domid = ctx.pool.create_domain(ctx.host, host_ref, vm["uuid"])
    running_on(ctx.db, ref, host_ref, domid, paused)
    return ""


@call("VM.start")
def start(ctx, ref, start_paused, force):
    vm = _vm(ctx, ref, "start")
    candidates = []
    for h in ctx.db.tables["host"]:
        try:
            _can_boot_on(ctx, h, ref)
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


def _named(op, action):
    """Register ``VM.<op>(ref)`` as ``action(ctx, ref, op)``, for operations that share one
    action: the clean and hard variants act alike here (no guest to ask), pause and unpause
    differ only in the state they set."""

    def handler(ctx, ref):
        return action(ctx, ref, op)

    handler.__name__ = op
    return call("VM." + op)(handler)


def _shutdown(ctx, ref, op):
    vm = _vm(ctx, ref, op)
    if vm["power_state"] != "Suspended":
        ctx.pool.destroy_domain(ctx.host, vm["resident_on"], vm["uuid"])
    force_halted(ctx.db, ref)
    return ""


def _reboot(ctx, ref, op):
    vm = _vm(ctx, ref, op)
    ctx.pool.destroy_domain(ctx.host, vm["resident_on"], vm["uuid"])
    vm["domid"] = ctx.pool.create_domain(ctx.host, vm["resident_on"], vm["uuid"])
    vm["power_state"] = "Running"
    return ""


clean_shutdown = _named("clean_shutdown", _shutdown)
hard_shutdown = _named("hard_shutdown", _shutdown)
clean_reboot = _named("clean_reboot", _reboot)
hard_reboot = _named("hard_reboot", _reboot)


@call("VM.suspend")
def suspend(ctx, ref):
    vm = _vm(ctx, ref, "suspend")
    ctx.pool.destroy_domain(ctx.host, vm["resident_on"], vm["uuid"])
    force_halted(ctx.db, ref)
    vm["power_state"] = "Suspended"
    return ""


def _resume(ctx, ref, boot):
    vm = _vm(ctx, ref, "resume")
    vm["power_state"] = "Halted"  # the host is chosen as for start
    try:
        return boot()
    except Failure:
        vm["power_state"] = "Suspended"
        raise


@call("VM.resume")
def resume(ctx, ref, start_paused, force):
    return _resume(ctx, ref, lambda: start(ctx, ref, start_paused, force))


@call("VM.resume_on")
def resume_on(ctx, ref, host_ref, start_paused, force):
    return _resume(ctx, ref, lambda: start_on(ctx, ref, host_ref, start_paused, force))


def _pause(ctx, ref, op):
    vm = _vm(ctx, ref, op)
    ctx.pool.require_reach(ctx.host, vm["resident_on"])
    vm["power_state"] = {"pause": "Paused", "unpause": "Running"}[op]
    return ""


pause = _named("pause", _pause)
unpause = _named("unpause", _pause)


@call("VM.pool_migrate")
def pool_migrate(ctx, ref, host_ref, options):
    vm = _vm(ctx, ref, "pool_migrate")
    _can_boot_on(ctx, host_ref, ref)
    vm["domid"] = ctx.pool.migrate_domain(ctx.host, vm["resident_on"], host_ref, vm["uuid"])
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
            if ctx.pool.has_domain(ctx.host, vm["uuid"]):
                raise Failure("DOMAIN_EXISTS", ref)
        elif resident != NULL_REF and ctx.pool.is_host_alive(ctx.host, resident):
            raise Failure("HOST_IS_LIVE", resident)
    force_halted(ctx.db, ref)
    return ""
