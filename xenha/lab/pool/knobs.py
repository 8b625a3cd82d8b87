"""The simulator's knobs: each window of xapi it models, with xapi's value as default
(members.py and docs/xapi.md say what each one models). Importable without loading the
simulator (the `xenha` CLI takes the toolstack restart's default from here)."""

# Each knob with the value xapi has. Seconds unless said otherwise.
DEFAULT_KNOBS = {
    "heartbeat_interval": 30.0,  # xapi_globs.ml host_heartbeat_interval
    "assumed_dead_interval": 600.0,  # xapi_globs.ml host_assumed_dead_interval
    "db_sync_interval": 300.0,  # xapi_globs.ml pool_db_sync_interval (before each slave)
    "xapi_fuse": 10.0,  # constants.ml fuse_time: a role change's restart comes this late
    "xapi_restart": 20.0,  # endpoints refuse connections while xapi restarts (an estimate)
    "master_startup": 10.0,  # a starting master's start-up before its resync (an estimate)
    "hello_retry": 5.0,  # xapi.ml: a slave in emergency mode retries Pool.hello
    "db_gc_interval": 30.0,  # db_gc.ml db_GC_TIMER: the master's database GC passes
    "completed_task_timeout": 3900.0,  # xapi_globs.ml: a task done is kept this long
    # "master": a slave's calls need its master and block while it is out of reach
    # (xapi). "backup": kinder, not xapi: reads of a slave-local session are answered
    # from the slave's backup while the master is out of reach or the slave is in
    # emergency mode (what the simulator used to do; for agents not yet fixed).
    "local_reads": "master",
}
LOCAL_READS = ("master", "backup")


def knob_value(name, value):
    """``value`` as knob ``name`` takes it; ValueError for an unknown knob or value."""
    if name not in DEFAULT_KNOBS:
        raise ValueError("unknown knob %s" % name)
    if name == "local_reads":
        if value not in LOCAL_READS:
            raise ValueError("local_reads is one of %s, not %r" % (", ".join(LOCAL_READS), value))
        return value
    value = float(value)
    if value < 0:
        raise ValueError("%s must not be negative" % name)
    return value
