"""The pool as the hosts see it: one xapi per host, each with its role, its database and
its sessions, joined by a network that crashes and partitions really cut.

References are xen-api's sources (ocaml/, release v26.1.4 = XCP-ng 8.3). What each
knob models and why its default is what it is: docs/xapi.md, "What the simulator models
of xapi's slow and stale paths".

* Databases. The master's is the pool's. A slave's xapi has no database of its own to
  serve: its database calls go to the master (Db_ref.Remote), and retry for ever while
  the master is out of reach (db_globs.ml master_connection_retry_timeout = -1,
  master_connection.ml). What a slave holds is a backup: the master pushes its database
  to each slave in turn, sleeping ``db_sync_interval`` before each one
  (pool_db_backup.ml pool_db_backup_thread, xapi_globs.ml pool_db_sync_interval = 300 s),
  so each copy is refreshed every N x interval; the slave never reads it
  (slave_backup.ml); it is what the host starts from if it becomes master by an
  emergency transition. ``Pool.sync_database`` pushes to all at once.
* xapi restarts. A role change writes /etc/xensource/pool.conf at once
  (xapi_pool_transition.ml set_role) and lights the fuse (xapi_fuse.ml,
  constants.ml fuse_time = 10 s): the running xapi carries on in its old role for
  ``xapi_fuse`` seconds, then exits. Its endpoints refuse connections for
  ``xapi_restart`` seconds, then the new xapi reads pool.conf. A slave starts in
  emergency mode (xapi.ml: slave_emergency_mode until Pool.hello with its master
  succeeds, retried every ``hello_retry`` = 5 s): every call but the emergency calls
  fails with HOST_STILL_BOOTING (api_server.ml callback1). A master serves at once,
  from the database it started with, and resyncs its own VMs at the end of its start-up
  (``master_startup``; xapi.ml "resynchronising VM state"). The resync is
  xapi_xenops.ml resync_resident_on: local domains of VMs the database says are
  resident on another host are shut down; VMs the database says run here without a
  domain are reset to Halted; domains of VMs resident nowhere are recorded here.
* Liveness (xapi_globs.ml, db_gc.ml check_host_liveness): running slaves heartbeat
  every ``heartbeat_interval``; the master marks a host not live once no heartbeat came
  for ``assumed_dead_interval``.
"""

import os
import threading
import time

from . import tasks
from .api_errors import Failure, Unreachable
from .db import now_datetime
from .knobs import DEFAULT_KNOBS, knob_value
from .lifecycle import force_halted
from .sessions import SessionTable
from .truth import Truth


def pool_conf_text(role, master_address):
    """The line xapi writes to pool.conf (pool_role.ml string_of)."""
    return "master" if role == "master" else "slave:" + master_address


def parse_pool_conf(text):
    if text == "master":
        return "master", None
    if text.startswith("slave:"):
        return "slave", text[len("slave:") :]
    raise ValueError("cannot parse pool role %r" % text)


class HostRuntime:
    """One host: power, network, and the xapi running on it."""

    def __init__(self, ref, uuid, name, address, role, master_address, db):
        self.ref = ref
        self.uuid = uuid
        self.name = name
        self.address = address
        self.role = role  # "master" or "slave": what the running xapi believes
        self.master_address = master_address
        self.pool_conf = pool_conf_text(role, master_address)  # what is on disk
        self.pool_conf_path = None  # where it is written, if anywhere
        self.db = db  # a master: the pool's database; a slave: its backup
        self.backup_time = None  # wall-clock time of the backup a slave holds
        self.netns = None  # lab hosts: the network namespace its endpoint lives in
        self.socket = None  # path of its local xapi socket, if served
        self.up = True
        self.clock_offset = 0.0  # seconds its clock is ahead (host.get_servertime)
        self.isolated = False
        self.partition = 0  # hosts in different partitions cannot reach each other
        self.sessions = SessionTable()
        self.heartbeats = {}  # as master: host ref -> time of the last heartbeat
        self.last_heartbeat_sent = 0.0
        self.needs_resync = False  # a domain died while its master was out of reach
        # xapi's process: "running", "down" (restarting: connections refused) or "off".
        self.xapi = "running"
        self.xapi_generation = 0  # one more at each stop of its xapi
        self.emergency = False  # slave_emergency_mode: no Pool.hello with its master yet
        # emergency_mode_error: what every non-emergency call fails with meanwhile
        self.emergency_error = ("HOST_STILL_BOOTING",)
        self.fuse_at = None  # a lit fuse: when xapi exits (monotonic)
        self.start_at = None  # while down: when it listens again
        self.next_hello = 0.0
        self.startup_done_at = None  # a starting master: when its start-up completes
        self.next_backup = None  # as master: the next push of the backup cycle
        self.next_gc = None  # as master: the next pass of its database GC
        self.backup_queue = []  # as master: the hosts still to be pushed in this cycle

    @property
    def listening(self):
        """Its xapi accepts connections (it may still be in emergency mode)."""
        return self.up and self.xapi == "running"

    @property
    def acting_master(self):
        """Powered, with a running xapi that acts as master."""
        return self.listening and self.role == "master"

    def write_pool_conf(self, text):
        """xapi_pool_transition.ml set_role: the role the next xapi start reads."""
        self.pool_conf = text
        if self.pool_conf_path:
            os.makedirs(os.path.dirname(self.pool_conf_path), exist_ok=True)
            tmp = self.pool_conf_path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, self.pool_conf_path)


class SimPool:
    def __init__(self, user="root", password="", timing=None, knobs=None):
        self.lock = threading.RLock()
        self.user = user
        self.password = password
        self.knobs = dict(DEFAULT_KNOBS)
        for name, value in dict(timing or {}, **(knobs or {})).items():
            self.knobs[name] = knob_value(name, value)
        self.timing = self.knobs  # the older name
        self.hosts = []
        self.truth = Truth()
        self.injections = []  # see rpc.Injection
        self.stopping = threading.Event()
        self.prober = None  # netns.Prober when hosts live in network namespaces
        self.port = None  # the hosts' common HTTP port, once serving
        self.on_listen = None  # fn(host): its endpoints listen again (set by the server)
        self.certificates = None  # certificates.HostCertificates, when served over HTTPS

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

    def by_ref(self, ref):
        return next((h for h in self.hosts if h.ref == ref), None)

    # -- network --------------------------------------------------------------

    def reach(self, a, b):
        """Can host ``a`` talk to host ``b`` over the pool network?"""
        if a is b:
            return a.up
        if not (a.up and b.up) or a.isolated or b.isolated or a.partition != b.partition:
            return False
        return self.prober is None or self.prober.reachable(a, b)

    def master_of(self, h):
        """The xapi ``h`` sends its database traffic to; Unreachable if it cannot get there
        (a slave's xapi retries its master connection for ever)."""
        if h.role == "master":
            return h
        m = self.by_address(h.master_address)
        if m is None or not self.reach(h, m) or not m.acting_master:
            raise Unreachable(h.name)
        return m

    def in_emergency(self, h):
        """xapi's slave_emergency_mode: a slave's xapi that started and has not yet done
        Pool.hello with its master (a running slave that loses its master is not in
        emergency mode: its calls block)."""
        return h.listening and h.emergency

    # -- xapi's process -------------------------------------------------------

    def light_fuse(self, h, at=None):
        """xapi_fuse.ml light_fuse_and_run: xapi exits ``xapi_fuse`` seconds from now (a
        fuse already lit stays as it is: ``once``)."""
        if h.fuse_at is None and h.up:
            h.fuse_at = time.monotonic() + self.knobs["xapi_fuse"] if at is None else at

    def stop_xapi(self, h, down_for=None, now=None):
        """xapi exits (fuse, toolstack restart) and is started again: its sessions,
        tasks (and the Async calls they ran) and heartbeat table are gone; connections
        are refused for ``down_for`` seconds."""
        h.sessions = SessionTable(h.sessions.caps)
        h.db.forget_memory()
        h.heartbeats = {}
        h.xapi_generation += 1
        h.fuse_at = None
        h.emergency = False
        h.startup_done_at = None
        h.next_backup = None
        h.next_gc = None
        if not h.up:
            h.xapi = "off"
            return
        h.xapi = "down"
        seconds = self.knobs["xapi_restart"] if down_for is None else float(down_for)
        h.start_at = (time.monotonic() if now is None else now) + seconds

    def _start_xapi(self, h, now):
        """The new xapi reads pool.conf (the file: what ran before xapi on this host may
        have rewritten it, as xenha-boot-role does). A slave starts in emergency mode -
        for good when it names itself (its own slave: xapi.ml
        wait_for_management_ip_address) -; a master serves its database at once and
        resyncs at the end of its start-up."""
        try:
            with open(h.pool_conf_path or "") as f:
                text = f.read().strip()
            parse_pool_conf(text)
            h.pool_conf = text
        except (OSError, ValueError):
            pass  # no file (a pool in one process), or one xapi would read as "broken"
        h.role, address = parse_pool_conf(h.pool_conf)
        if address is not None:
            h.master_address = address
        else:
            h.master_address = h.address
        h.xapi, h.start_at = "running", None
        if self.on_listen is not None:
            self.on_listen(h)
        h.last_heartbeat_sent = 0.0
        if h.role == "slave":
            h.emergency = True
            h.next_hello = now
            # xapi.ml wait_for_management_ip_address: its own slave says so for good
            own = h.master_address in (h.address, "127.0.0.1")
            h.emergency_error = ("HOST_ITS_OWN_SLAVE",) if own else ("HOST_STILL_BOOTING",)
        else:
            # dbsync_master.ml set_master_pool_reference / set_master_live
            db = h.db
            db.record("pool", db.only("pool"))["master"] = h.ref
            db.record("host_metrics", db.record("host", h.ref)["metrics"])["live"] = True
            h.startup_done_at = now + self.knobs["master_startup"]
            h.next_backup = now + self.knobs["db_sync_interval"]
            h.backup_queue = []

    def _advance_xapi(self, h, now):
        """Fuse and restart steps that are due (several at once when the knobs are 0)."""
        if not h.up:
            return
        if h.fuse_at is not None and now >= h.fuse_at:
            self.stop_xapi(h, now=now)
        if h.xapi == "down" and now >= h.start_at:
            self._start_xapi(h, now)

    def _settle_xapi(self, h, now):
        """Pool.hello of a slave in emergency mode, and the end of a master's start-up
        (after every host's restarts of this moment: a new master and its old master's
        new slave start together)."""
        if h.listening and h.emergency and now >= h.next_hello:
            self._hello(h, now)
        if h.startup_done_at is not None and now >= h.startup_done_at and h.acting_master:
            h.startup_done_at = None
            self.resync_host(h.db, h, restart=True)

    def _hello(self, h, now):
        """xapi.ml attempt_host_status_check_with_coordinator: Pool.hello with the master
        (which sets the host live, xapi_pool.ml hello); on success the slave leaves
        emergency mode and resyncs its VMs with the master's database. A failure becomes
        its emergency mode's error: the master's own answer (a parked master's
        HOST_ITS_OWN_SLAVE, a slave's HOST_IS_SLAVE), INTERNAL_ERROR when it cannot be
        reached, HOST_UNKNOWN_TO_MASTER; it is retried every ``hello_retry``."""
        failure = self._hello_failure(h)
        if failure is not None:
            h.emergency_error = failure
            h.next_hello = now + self.knobs["hello_retry"]
            return
        m = self.master_of(h)
        h.emergency = False
        db = m.db
        db.record("host_metrics", db.record("host", h.ref)["metrics"])["live"] = True
        m.heartbeats[h.ref] = now
        h.last_heartbeat_sent = now
        self.resync_host(db, h, restart=True)

    def toolstack_restart(self, h, seconds=None):
        """xe-toolstack-restart: xapi stops at once (no fuse) and starts again after
        ``seconds`` (default ``xapi_restart``), in the role pool.conf says."""
        if h.up:
            self.stop_xapi(h, seconds)

    # -- liveness -------------------------------------------------------------

    @staticmethod
    def _live_in(db, host_ref):
        """host_metrics.live of ``host_ref`` in ``db`` (a host without metrics: live)."""
        metrics = db.record("host", host_ref)["metrics"]
        return db.tables["host_metrics"].get(metrics, {}).get("live", True)

    def is_host_alive(self, master, host_ref):
        """xapi_host.ml is_host_alive: not live in the DB is definitive; otherwise the
        master asks the host (Pool.is_slave, an emergency call), and a host it cannot
        reach, or whose xapi does not answer, is assumed dead."""
        if not self._live_in(master.db, host_ref):
            return False
        other = self.by_ref(host_ref)
        return other is not None and self.reach(master, other) and other.listening

    def tick(self):
        """Advance xapi restarts, heartbeats, liveness and DB backups to now (call under
        the lock)."""
        now = time.monotonic()
        t = self.knobs
        for h in self.hosts:
            self._advance_xapi(h, now)
        for h in sorted(self.hosts, key=lambda h: h.role != "master"):
            self._settle_xapi(h, now)
        for h in self.hosts:
            if not h.listening or h.emergency or h.role != "slave":
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
            if not m.acting_master:
                continue
            self._check_liveness(m, now)
            self._backup_step(m, now)
            self._gc_step(m, now)
        self.track_masters()

    def _gc_step(self, m, now):
        """db_gc.ml: the master's database GC, every db_gc_interval (its tasks here)."""
        if m.next_gc is not None and now < m.next_gc:
            return
        if m.next_gc is not None:
            tasks.collect(m.db, self.knobs["completed_task_timeout"])
        m.next_gc = now + self.knobs["db_gc_interval"]

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
                live = now - last < self.knobs["assumed_dead_interval"]
            if metrics["live"] != live:
                metrics["live"] = live
                metrics["last_updated"] = now_datetime()

    # -- database backups ----------------------------------------------------------

    def _backup_step(self, m, now):
        """pool_db_backup.ml: for each other host in turn, sleep db_sync_interval, then
        Host.request_backup (a failure is logged and the loop goes on)."""
        if m.next_backup is None:
            m.next_backup = now + self.knobs["db_sync_interval"]
        if now < m.next_backup:
            return
        if not m.backup_queue:
            m.backup_queue = [r for r in m.db.tables["host"] if r != m.ref]
        if m.backup_queue:
            self.push_backup(m, self.by_ref(m.backup_queue.pop(0)))
        m.next_backup = now + self.knobs["db_sync_interval"]

    def push_backup(self, m, h):
        """Host.request_backup: ``h`` fetches the master's database, if the master reaches
        it and it is a running slave of this master. True if it did."""
        if h is None or h is m or not self.reach(m, h) or not h.listening or h.emergency:
            return False
        if h.role != "slave" or h.master_address != m.address:
            return False
        h.db = m.db.copy()
        h.backup_time = time.time()
        return True

    def sync_database(self, m):
        """Pool.sync_database (xapi_pool.ml): the database to every host at once."""
        return [h.name for h in self.hosts if h is not m and self.push_backup(m, h)]

    # -- resync -------------------------------------------------------------------

    def resync_host(self, db, h, restart=False):
        """``h``'s xapi tells database ``db`` what its hypervisor runs.

        ``restart``: xapi started (xapi_xenops.ml on_xapi_restart -> resync_resident_on,
        then resync_all_vms; xapi_host.ml consider_enabling_host): a local domain of a VM
        the database says is resident on another host is shut down (xapi logs "This can
        cause data corruption, therefore terminating"); a VM resident here without a
        domain is reset to Halted; a domain of a VM resident nowhere is recorded here; the
        host is enabled again unless other_config:MAINTENANCE_MODE=true.

        Otherwise (xenopsd's events): a VM resident here whose domain died becomes
        Halted."""
        running = self.truth.domains.get(h.uuid, {})
        host = db.record("host", h.ref)
        for ref in list(host["resident_VMs"]):
            vm = db.record("VM", ref)
            if vm["is_control_domain"]:
                vm["power_state"] = "Running"
                continue
            if vm["uuid"] not in running:
                force_halted(db, ref)
        if restart:
            for vm_uuid, domid in list(running.items()):
                try:
                    ref = db.by_uuid("VM", vm_uuid)
                except Failure:
                    ref = None  # unknown to xapi: terminated too
                vm = db.tables["VM"].get(ref)
                resident = vm["resident_on"] if vm else None
                if vm is None or (resident != h.ref and resident in db.tables["host"]):
                    self.truth.xapi_shutdown(h.uuid, vm_uuid, "resync_resident_on")
                    continue
                if resident != h.ref or vm["power_state"] not in ("Running", "Paused"):
                    db.set("VM", ref, "resident_on", h.ref)
                    vm["power_state"], vm["domid"] = "Running", domid
            host["enabled"] = host["other_config"].get("MAINTENANCE_MODE") != "true"
        h.needs_resync = False

    # -- masters -----------------------------------------------------------------

    def track_masters(self):
        """The truth's record of master tenures (call after any change of power or role)."""
        self.truth.track_masters([(h.uuid, h.name) for h in self.hosts if h.acting_master])

    def note_write(self, h, method):
        """Master ``h`` accepted a write: a violation if another master is powered."""
        others = [o for o in self.hosts if o is not h and o.acting_master]
        if h.acting_master and others:
            self.truth.master_violation(
                (h.uuid, h.name), [(o.uuid, o.name) for o in others], method
            )

    # -- physical events (the control API) ---------------------------------------

    def power_off(self, h):
        """Power cut: every domain on the host dies and its xapi stops."""
        h.up = False
        self.truth.power_cut(h.uuid)
        self.stop_xapi(h)
        self.track_masters()

    def power_on(self, h):
        """The host boots and its xapi starts, in the role pool.conf says: a master that
        comes back still believes it is master, with its own database."""
        h.up = True
        now = time.monotonic()
        self.stop_xapi(h, now=now)
        self._advance_xapi(h, now)
        self._settle_xapi(h, now)
        self.track_masters()

    def kill_domain(self, vm_uuid):
        """A domain dies (guest crash, killed by hand). The host's xapi tells the
        database the VM is halted if it can reach its master; otherwise the database
        keeps saying Running until the host resyncs."""
        for h in self.hosts:
            if not self.has_domain(h, vm_uuid):
                continue
            self.truth.stop(h.uuid, vm_uuid)
            h.needs_resync = True
            if h.listening and not h.emergency:
                try:
                    self.resync_host(self.master_of(h).db, h)
                except Unreachable:
                    pass

    def _hello_failure(self, h):
        """The error Pool.hello from ``h`` to the master its pool.conf names ends in, or
        None when it succeeds."""
        if h.master_address in (h.address, "127.0.0.1"):
            return ("HOST_ITS_OWN_SLAVE",)
        m = self.by_address(h.master_address)
        if m is None or not self.reach(h, m) or not m.listening:
            return ("INTERNAL_ERROR", 'Unix.Unix_error(Unix.ECONNREFUSED, "connect", "")')
        if m.emergency:
            return m.emergency_error
        if not m.acting_master:
            return ("HOST_IS_SLAVE", m.master_address)
        if h.ref not in m.db.tables["host"]:
            return ("HOST_UNKNOWN_TO_MASTER", h.uuid)
        return None

    # -- messages between hosts ------------------------------------------------------
    # Every effect one host's xapi has on another goes through these, each naming its
    # sender and checking the network: in one process they are method calls; with one
    # process per host they become calls between the hosts' endpoints (docs/xapi.md).

    def require_reach(self, sender, host_ref):
        """Forwarding to ``host_ref`` (message_forwarding.ml do_op_on): HOST_OFFLINE if
        ``sender``'s database says it is not live (check_live); CANNOT_CONTACT_HOST if the
        connection fails, ``sender`` cannot get there or its xapi does not answer (a
        restart: do_op_on_common); its emergency mode's error if it is in emergency mode."""
        target = self.by_ref(host_ref)
        if target is None or not self._live_in(sender.db, host_ref):
            raise Failure("HOST_OFFLINE", host_ref)
        if not self.reach(sender, target) or not target.listening:
            raise Failure("CANNOT_CONTACT_HOST", host_ref)
        if target is not sender and target.emergency:
            raise Failure(*target.emergency_error)
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
        if vm_uuid not in self.truth.domains.get(src.uuid, {}):
            # A stale record: the source's xenopsd has no such VM (xapi_vm_migrate.ml
            # pool_migrate; Does_not_exist worded by xapi_xenops.ml transform_xenops_exn).
            raise Failure(
                "INTERNAL_ERROR",
                "Object with type VM and id %s does not exist in xenopsd" % vm_uuid,
            )
        return self.truth.migrate(src.uuid, dst.uuid, vm_uuid)

    def has_domain(self, host, vm_uuid):
        """A host asks its own hypervisor."""
        return vm_uuid in self.truth.domains.get(host.uuid, {})

    def follow(self, sender, target, master_address):
        """Pool.emergency_reset_master on ``target`` (xapi_pool_transition.ml
        become_another_masters_slave): nothing if it already is that master's slave;
        otherwise pool.conf now and a restart after the fuse."""
        if sender is not target and not (self.reach(sender, target) and target.listening):
            raise Failure("HOST_OFFLINE", target.ref)
        if target.role == "slave" and target.master_address == master_address:
            return False
        target.write_pool_conf(pool_conf_text("slave", master_address))
        self.light_fuse(target)
        return True

    def become_master(self, sender, target, fuse_at=None):
        """``target`` will restart as master (xapi_pool_transition.ml become_master: pool.conf
        now, the fuse's restart later) with the database it holds: its backup."""
        if sender is not target and not (self.reach(sender, target) and target.listening):
            raise Failure("HOST_OFFLINE", target.ref)
        target.write_pool_conf("master")
        self.light_fuse(target, fuse_at)
