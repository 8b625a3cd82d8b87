"""The pool as the hosts see it: one xapi per host, each with its role, its database
(the master's is the pool's; a slave keeps the replica the master last pushed) and its
sessions, joined by a network that crashes and partitions really cut.

Timing follows xapi (xapi_globs.ml): slaves heartbeat every ``heartbeat_interval``; the
master marks a host not live once no heartbeat came for ``assumed_dead_interval``
(db_gc.ml check_host_liveness); the master pushes its database to slaves every
``db_sync_interval``. All three are knobs so scenarios can run faster than real time.
"""

import threading
import time

from .api_errors import Failure, Unreachable
from .db import now_datetime
from .lifecycle import force_halted
from .sessions import SessionTable
from .truth import Truth

DEFAULT_TIMING = {
    "heartbeat_interval": 30.0,
    "assumed_dead_interval": 600.0,
    "db_sync_interval": 300.0,
}


class HostRuntime:
    """One host: power, network, and the xapi running on it."""

    def __init__(self, ref, uuid, name, address, role, master_address, db):
        self.ref = ref
        self.uuid = uuid
        self.name = name
        self.address = address
        self.role = role  # "master" or "slave": what this host's xapi believes
        self.master_address = master_address
        self.db = db
        self.netns = None  # lab hosts: the network namespace its endpoint lives in
        self.socket = None  # path of its local xapi socket, if served
        self.up = True
        self.isolated = False
        self.partition = 0  # hosts in different partitions cannot reach each other
        self.sessions = SessionTable()
        self.heartbeats = {}  # as master: host ref -> time of the last heartbeat
        self.last_heartbeat_sent = 0.0
        self.last_db_push = time.monotonic()
        self.needs_resync = False
        self.xapi_starting = False  # until its first resync with the master

    def restart_xapi(self):
        """xapi (re)starts: sessions and the heartbeat table are gone."""
        self.sessions = SessionTable(self.sessions.caps)
        self.heartbeats = {}
        self.xapi_starting = True


class SimPool:
    def __init__(self, user="root", password="", timing=None):
        self.lock = threading.RLock()
        self.user = user
        self.password = password
        self.timing = dict(DEFAULT_TIMING, **(timing or {}))
        self.hosts = []
        self.truth = Truth()
        self.injections = []  # see rpc.Injection
        self.stopping = threading.Event()
        self.prober = None  # netns.Prober when hosts live in network namespaces
        self.port = None  # the hosts' common HTTP port, once serving

    # -- lookup ---------------------------------------------------------------

    def host(self, key):
        """A host by name-label, UUID, address or reference."""
        for h in self.hosts:
            if key in (h.name, h.uuid, h.address, h.ref):
                return h
        raise KeyError("no simulated host %r" % key)

    def by_address(self, address):
        for h in self.hosts:
            if h.address == address:
                return h
        return None

    # -- network --------------------------------------------------------------

    def reach(self, a, b):
        """Can host ``a`` talk to host ``b`` over the pool network?"""
        if a is b:
            return a.up
        if not (a.up and b.up) or a.isolated or b.isolated or a.partition != b.partition:
            return False
        return self.prober is None or self.prober.reachable(a, b)

    def master_of(self, h):
        """The xapi ``h`` sends its database traffic to; Unreachable if it cannot get there."""
        if h.role == "master":
            return h
        m = self.by_address(h.master_address)
        if m is None or not self.reach(h, m) or m.role != "master":
            raise Unreachable(h.name)
        return m

    def in_emergency(self, h):
        """A slave whose master is out of reach is in emergency mode."""
        try:
            self.master_of(h)
            return False
        except Unreachable:
            return h.role == "slave"

    # -- liveness -------------------------------------------------------------

    def is_host_alive(self, master, host_ref):
        """xapi_host.ml is_host_alive: not live in the DB is definitive; otherwise the
        master asks the host itself, and a host it cannot reach is assumed dead."""
        db = master.db
        metrics = db.record("host", host_ref)["metrics"]
        live = db.tables["host_metrics"].get(metrics, {}).get("live", True)
        if not live:
            return False
        other = next((h for h in self.hosts if h.ref == host_ref), None)
        return other is not None and self.reach(master, other)

    def tick(self):
        """Advance heartbeats, liveness and DB replication to now (call under the lock)."""
        now = time.monotonic()
        t = self.timing
        for h in self.hosts:
            if not h.up or h.role != "slave":
                continue
            if now - h.last_heartbeat_sent < t["heartbeat_interval"] and not h.needs_resync:
                continue
            try:
                m = self.master_of(h)
            except Unreachable:
                continue
            h.last_heartbeat_sent = now
            m.heartbeats[h.ref] = now
            if h.needs_resync:
                self.resync_host(m.db, h)
        for m in self.hosts:
            if not m.up or m.role != "master":
                continue
            self._check_liveness(m, now)
            if now - m.last_db_push >= t["db_sync_interval"]:
                self.push_db(m)

    def _check_liveness(self, m, now):
        db = m.db
        for ref, rec in db.tables["host"].items():
            metrics = db.tables["host_metrics"].get(rec["metrics"])
            if metrics is None:
                continue
            if ref == m.ref:
                live = True
            else:
                last = m.heartbeats.setdefault(ref, now)  # a fresh timer, as db_gc starts one
                live = now - last < self.timing["assumed_dead_interval"]
            if metrics["live"] != live:
                metrics["live"] = live
                metrics["last_updated"] = now_datetime()

    def push_db(self, m):
        """The master sends its database to the slaves it reaches (pool_db_sync)."""
        m.last_db_push = time.monotonic()
        for h in self.hosts:
            following = h.role == "slave" and h.master_address == m.address
            if h is not m and following and self.reach(m, h):
                h.db = m.db.copy()

    def resync_host(self, db, h):
        """A booting host's xapi tells the database which of its VMs really run: VMs
        resident on it without a domain become Halted (the resident_on contract); and a
        freshly started xapi, as xapi's consider_enabling_host, enables the host again
        (disabled by host.disable or host.declare_dead) unless it is in maintenance mode."""
        if h.xapi_starting:
            host = db.record("host", h.ref)
            host["enabled"] = host["other_config"].get("MAINTENANCE_MODE") != "true"
            h.xapi_starting = False
        running = self.truth.domains.get(h.uuid, {})
        for ref in list(db.record("host", h.ref)["resident_VMs"]):
            vm = db.record("VM", ref)
            if vm["is_control_domain"]:
                vm["power_state"] = "Running"
                continue
            if vm["uuid"] not in running:
                force_halted(db, ref)
        # ... and the domains it does run are recorded here, whatever a stale database
        # (a master promoted with an old replica) says.
        for vm_uuid, domid in running.items():
            ref = db.by_uuid("VM", vm_uuid)
            vm = db.record("VM", ref)
            if vm["resident_on"] != h.ref or vm["power_state"] not in ("Running", "Paused"):
                db.set("VM", ref, "resident_on", h.ref)
                vm["power_state"], vm["domid"] = "Running", str(domid)
        h.needs_resync = False

    # -- physical events (the control API) ---------------------------------------

    def power_off(self, h):
        """Power cut: every domain on the host dies and its xapi stops."""
        h.up = False
        self.truth.power_cut(h.uuid)
        h.restart_xapi()

    def power_on(self, h):
        """The host boots. Its xapi keeps the role it had: a master that comes back
        still believes it is master, with its own database."""
        h.up = True
        h.restart_xapi()
        h.last_heartbeat_sent = 0.0
        h.needs_resync = True
        if h.role == "master":
            self.resync_host(h.db, h)

    def kill_domain(self, vm_uuid):
        """A domain dies (guest crash, killed by hand). The host's xapi tells the
        database the VM is halted if it can reach its master; otherwise the database
        keeps saying Running until the host resyncs."""
        for h in self.hosts:
            if not self.has_domain(h, vm_uuid):
                continue
            self.truth.stop(h.uuid, vm_uuid)
            h.needs_resync = True
            if h.up:
                try:
                    self.resync_host(self.master_of(h).db, h)
                except Unreachable:
                    pass

    # -- messages between hosts ------------------------------------------------------
    # Every effect one host's xapi has on another goes through these, each naming its
    # sender and checking the network: in one process they are method calls; with one
    # process per host they become calls between the hosts' endpoints (docs/xapi.md).

    def require_reach(self, sender, host_ref):
        """Forwarding to ``host_ref``: HOST_OFFLINE if ``sender`` cannot get there."""
        target = next((h for h in self.hosts if h.ref == host_ref), None)
        if target is None or not self.reach(sender, target):
            raise Failure("HOST_OFFLINE", host_ref)
        return target

    def create_domain(self, sender, host_ref, vm_uuid):
        """The VM's new host builds its domain; return the domid."""
        return self.truth.start(self.require_reach(sender, host_ref).uuid, vm_uuid)

    def destroy_domain(self, sender, host_ref, vm_uuid):
        self.truth.stop(self.require_reach(sender, host_ref).uuid, vm_uuid)

    def migrate_domain(self, sender, src_ref, dst_ref, vm_uuid):
        src = self.require_reach(sender, src_ref)
        dst = self.require_reach(sender, dst_ref)
        if src is dst:
            raise Failure("OPERATION_NOT_ALLOWED", "the VM already runs on the destination host")
        return self.truth.migrate(src.uuid, dst.uuid, vm_uuid)

    def has_domain(self, host, vm_uuid):
        """A host asks its own hypervisor."""
        return vm_uuid in self.truth.domains.get(host.uuid, {})

    def follow(self, sender, target, master_address, db):
        """Tell ``target`` its master; its xapi restarts as a slave with a copy of ``db``."""
        if sender is not target and not self.reach(sender, target):
            raise Failure("HOST_OFFLINE", target.ref)
        target.role, target.master_address = "slave", master_address
        target.db = db.copy()
        target.restart_xapi()
        target.needs_resync = True

    def become_master(self, sender, target, db):
        """``target``'s xapi restarts as master serving ``db``."""
        if sender is not target and not self.reach(sender, target):
            raise Failure("HOST_OFFLINE", target.ref)
        target.role, target.master_address, target.db = "master", target.address, db
        target.restart_xapi()
        self.resync_host(db, target)  # its own VMs, as any starting xapi does
