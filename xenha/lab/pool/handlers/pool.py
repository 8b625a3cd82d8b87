"""pool.*: master changes (xapi_pool.ml, xapi_pool_transition.ml) and database sync.

A role change writes pool.conf at once and restarts the host's xapi after the fuse
(members.SimPool.follow / become_master); the call itself returns before that.
"""

from . import call


def _set_master(db, host_ref):
    db.record("pool", db.only("pool"))["master"] = host_ref


@call("pool.sync_database")
def sync_database(ctx):
    """xapi_pool.ml sync_database: the database to every host at once."""
    ctx.pool.sync_database(ctx.host)
    return ""


@call("pool.designate_new_master")
def designate_new_master(ctx, host_ref):
    """A planned change (xapi_pool.ml designate_new_master): Pool.sync_database, then a
    two-phase commit (xapi_pool_transition.ml): every other host reached points its
    pool.conf at the new master and restarts after the fuse; the new master writes
    "master" and restarts when its connection to the old master dies, i.e. when the old
    master's fuse ends. It starts from the backup the sync just gave it: writes the old
    master accepts meanwhile are lost."""
    pool, old = ctx.pool, ctx.host
    new = pool.require_reach(old, host_ref)
    if new is old:
        return ""
    _set_master(old.db, host_ref)
    pool.sync_database(old)
    for h in pool.hosts:
        following = h.role == "slave" and h.master_address == old.address
        if h is not new and following and pool.reach(old, h) and h.listening:
            pool.follow(old, h, new.address)
    pool.follow(old, old, new.address)
    pool.become_master(old, new, fuse_at=old.fuse_at)
    return ""


@call("pool.emergency_transition_to_master", has_async=False)
def emergency_transition_to_master(ctx):
    """xapi_pool.ml: become_master, whatever the host was: pool.conf says master now, and
    after the fuse xapi restarts as master with the host's backup of the database."""
    ctx.pool.become_master(ctx.host, ctx.host)
    return ""


@call("pool.emergency_reset_master", has_async=False)
def emergency_reset_master(ctx, master_address):
    """Point this host at another master; its xapi restarts as a slave after the fuse
    (nothing happens if it already follows that master)."""
    ctx.pool.follow(ctx.host, ctx.host, master_address)
    return ""


@call("pool.recover_slaves")
def recover_slaves(ctx):
    """xapi_pool.ml: Pool.emergency_reset_master on every other host, through a local
    session (an emergency call, so slaves in emergency mode answer): hosts it reaches and
    whose xapi answers are recovered - slaves in emergency mode, an old master back from a
    power cut; a slave already following this master has nothing to change."""
    pool, m = ctx.pool, ctx.host
    recovered = []
    for ref in ctx.db.tables["host"]:
        h = pool.by_ref(ref)
        if h is None or h is m or not pool.reach(m, h) or not h.listening:
            continue
        pool.follow(m, h, m.address)
        recovered.append(ref)
    return recovered
