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
            pool.follow(old, h, new.address, old.db)
    pool.become_master(old, new, old.db.copy())
    pool.follow(old, old, new.address, old.db)
    return ""


@call("pool.emergency_transition_to_master")
def emergency_transition_to_master(ctx):
    """A slave takes over with its replica of the database; its xapi restarts as master."""
    h = ctx.host
    if h.role != "master":
        _set_master(h.db, h.ref)
        ctx.pool.become_master(h, h, h.db)
    return ""


@call("pool.emergency_reset_master")
def emergency_reset_master(ctx, master_address):
    """Point this host at another master; its xapi restarts as a slave."""
    ctx.pool.follow(ctx.host, ctx.host, master_address, ctx.host.db)
    return ""


@call("pool.recover_slaves")
def recover_slaves(ctx):
    """xapi_pool.ml: every other host the master reaches gets emergency_reset_master to
    it - slaves in emergency mode, and an old master back from a power cut that still
    believes it is master; a slave already following it has nothing to change."""
    pool, m = ctx.pool, ctx.host
    recovered = []
    for ref in ctx.db.tables["host"]:
        h = next((x for x in pool.hosts if x.ref == ref), None)
        if h is None or h is m or not pool.reach(m, h):
            continue
        if h.role != "slave" or h.master_address != m.address:
            pool.follow(m, h, m.address, m.db)
        recovered.append(ref)
    return recovered
