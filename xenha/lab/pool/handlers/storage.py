"""PBD.plug/unplug and VM_appliance start/shutdown (appliances act on their VMs in order)."""

from ..api_errors import Failure
from . import call, vm


def _attached(attached):
    """The handler of PBD.plug (``attached``) or PBD.unplug, which needs the PBD's host."""

    def handler(ctx, ref):
        pbd = ctx.db.record("PBD", ref)
        ctx.pool.require_reach(ctx.host, pbd["host"])
        pbd["currently_attached"] = attached
        return ""

    return handler


plug = call("PBD.plug")(_attached(True))
unplug = call("PBD.unplug")(_attached(False))


def _members(ctx, ref, reverse=False):
    vms = ctx.db.record("VM_appliance", ref)["VMs"]
    return sorted(vms, key=lambda v: ctx.db.record("VM", v)["order"], reverse=reverse)


def _each(ctx, ref, state, action, reverse=False):
    done = False
    for v in _members(ctx, ref, reverse):
        if ctx.db.record("VM", v)["power_state"] == state:
            action(v)
            done = True
    if not done and not _members(ctx, ref):
        raise Failure("OPERATION_NOT_ALLOWED", "the appliance has no VMs")
    return ""


@call("VM_appliance.start")
def appliance_start(ctx, ref, paused):
    return _each(ctx, ref, "Halted", lambda v: vm.start(ctx, v, paused, False))


@call("VM_appliance.clean_shutdown")
def appliance_clean_shutdown(ctx, ref):
    return _each(ctx, ref, "Running", lambda v: vm.clean_shutdown(ctx, v), reverse=True)


@call("VM_appliance.hard_shutdown")
def appliance_hard_shutdown(ctx, ref):
    return _each(ctx, ref, "Running", lambda v: vm.hard_shutdown(ctx, v), reverse=True)
