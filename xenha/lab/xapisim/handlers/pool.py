"""pool.*: master changes (xapi_pool.ml, xapi_pool_transition.ml)."""

from . import call


def _set_master(db, host_ref):
    db.record("pool", db.only("pool"))["master"] = host_ref


@call("pool.designate_new_master")
def designate_new_master(ctx, host_ref):
    """A planned change: the new master takes the database; every slave reached follows."""
    pool, old = ctx.pool, ctx.host
    new = pool.require_reach(old, host_ref)
    if new is old:
        return ""
    _set_master(old.db, host_ref)
    for h in pool.hosts:
        following = h.role == "slave" and h.master_address == old.address
        if h is not new and following and pool.reach(old, h):
            h.master_address = new.address
            h.db = old.db.copy()
            h.restart_xapi()
    new.role, new.db = "master", old.db
    old.role, old.master_address, old.db = "slave", new.address, old.db.copy()
    for h in (old, new):
        h.restart_xapi()
    return ""


@call("pool.emergency_transition_to_master")
def emergency_transition_to_master(ctx):
    """A slave takes over with its replica of the database; its xapi restarts as master."""
    h = ctx.host
    if h.role == "master":
        return ""
    h.role, h.master_address = "master", h.address
    _set_master(h.db, h.ref)
    h.restart_xapi()
    return ""


@call("pool.emergency_reset_master")
def emergency_reset_master(ctx, master_address):
    """Point this host at another master; its xapi restarts as a slave."""
    h = ctx.host
    h.role, h.master_address = "slave", master_address
    h.restart_xapi()
    h.needs_resync = True
    return ""


@call("pool.recover_slaves")
def recover_slaves(ctx):
    """Slaves in emergency mode that the master reaches are told to follow it."""
    pool, m = ctx.pool, ctx.host
    recovered = []
    for ref in ctx.db.tables["host"]:
        h = next((x for x in pool.hosts if x.ref == ref), None)
        if h is None or h is m or not pool.reach(m, h):
            continue
        if h.role == "slave" and pool.in_emergency(h):
            h.master_address = m.address
            h.db = m.db.copy()
            h.restart_xapi()
            h.needs_resync = True
            recovered.append(ref)
    return recovered
