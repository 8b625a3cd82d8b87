"""host.*: enable/disable, declare_dead and the server certificate (xapi_host.ml)."""

from .. import certificates
from ..api_errors import Failure
from . import call, vm


@call("host.enable")
def enable(ctx, ref):
    """Refused until the host's xapi has finished starting (xapi_host.ml
    assert_safe_to_reenable -> assert_startup_complete)."""
    target = ctx.pool.require_reach(ctx.host, ref)
    if target.startup_done_at is not None:
        raise Failure("HOST_STILL_BOOTING")
    ctx.db.record("host", ref)["enabled"] = True
    return ""


@call("host.disable")
def disable(ctx, ref):
    ctx.pool.require_reach(ctx.host, ref)
    ctx.db.record("host", ref)["enabled"] = False
    return ""


@call("host.declare_dead")
def declare_dead(ctx, ref):
    """Refused while the host is alive or is the master itself; otherwise the power
    state of its regular VMs is reset and the host disabled."""
    host = ctx.db.record("host", ref)
    if ref == ctx.host.ref or ctx.pool.is_host_alive(ctx.host, ref):
        raise Failure("HOST_IS_LIVE", ref)
    for vm_ref in list(host["resident_VMs"]):
        if not ctx.db.record("VM", vm_ref)["is_control_domain"]:
            vm.power_state_reset(ctx, vm_ref)
    host["enabled"] = False
    return ""


@call("host.is_in_emergency_mode")
def is_in_emergency_mode(ctx):
    """xapi_host.ml: slave_emergency_mode (an emergency call)."""
    return ctx.pool.in_emergency(ctx.host)


@call("host.local_assert_healthy", has_async=False)
def local_assert_healthy(ctx):
    """xapi_host.ml: the emergency mode's error while in emergency mode."""
    if ctx.pool.in_emergency(ctx.host):
        raise Failure(*ctx.host.emergency_error)
    return ""


@call("host.compute_free_memory")
def compute_free_memory(ctx, ref):
    """Forwarded to the host (message_forwarding.ml do_op_on), which computes it from
    the database (memory_check.ml)."""
    ctx.pool.require_reach(ctx.host, ref)
    return vm.free_memory(ctx.db, ref)


@call("host.get_servertime", has_async=False)
def get_servertime(ctx, ref):
    """The host's own clock, asked of the host (message_forwarding.ml do_op_on): UTC."""
    import time
    import xmlrpc.client

    target = ctx.pool.require_reach(ctx.host, ref)
    when = time.gmtime(time.time() + target.clock_offset)
    return xmlrpc.client.DateTime(time.strftime("%Y%m%dT%H:%M:%SZ", when))


def _certificates(ctx):
    if ctx.pool.certificates is None:
        raise Failure("INTERNAL_ERROR", "this simulated pool serves no HTTPS (--https)")
    return ctx.pool.certificates


@call("host.get_server_certificate")
def get_server_certificate(ctx, ref):
    """The PEM the host's endpoint presents (message_forwarding.ml: asked of that host)."""
    target = ctx.pool.require_reach(ctx.host, ref)
    return _certificates(ctx).by_host[target.name].pem


@call("host.reset_server_certificate")
def reset_server_certificate(ctx, ref):
    """A new self-signed certificate for the host (xapi_host.ml reset_server_certificate,
    ``xe host-reset-server-certificate``): its endpoint presents it at once, its record
    replaces the old one; clients that pinned the old one are refused."""
    target = ctx.pool.require_reach(ctx.host, ref)
    certificates.record(ctx.db, ref, _certificates(ctx).issue(target))
    return ""
