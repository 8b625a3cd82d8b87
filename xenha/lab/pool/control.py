"""The ``sim.*`` control API: physical events, fault injection and inspection.

Served on its own loopback port, never on the XAPI endpoints, so that what a client
sees of XAPI is only XAPI.
"""

import threading
import time
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from .lifecycle import set_guest_live
from .rpc import Injection
from .schema import CLASSES


class Control:
    def __init__(self, pool, info, endpoints=None):
        self.pool = pool
        self.info_doc = info
        self.endpoints = endpoints or {}

    def info(self):
        """Endpoints, hosts, VMs and the password file."""
        return self.info_doc

    def power_off(self, host):
        with self.pool.lock:
            self.pool.power_off(self.pool.host(host))
        return True

    def power_on(self, host):
        """Boot the host; in a lab namespace that was recreated, listen again inside it."""
        h = self.pool.host(host)
        if h.name in self.endpoints:
            self.endpoints[h.name].relisten_if_moved()
        with self.pool.lock:
            self.pool.power_on(h)
        return True

    def isolate(self, host, isolated=True):
        """Cut (or restore) a host's network: it stays up and its domains keep running."""
        with self.pool.lock:
            self.pool.host(host).isolated = bool(isolated)
        return True

    def partition(self, groups):
        """Split the pool network: hosts in different groups cannot reach each other."""
        with self.pool.lock:
            for h in self.pool.hosts:
                h.partition = 0
            for i, group in enumerate(groups):
                for name in group:
                    self.pool.host(name).partition = i + 1
        return True

    def kill_domain(self, vm_uuid):
        with self.pool.lock:
            self.pool.kill_domain(vm_uuid)
        return True

    def set_guest_alive(self, vm_uuid, alive):
        """The guest agent of a running VM reports (or hangs): VM_guest_metrics.live."""
        with self.pool.lock:
            for h in self.pool.hosts:
                if h.role == "master" and h.up:
                    set_guest_live(h.db, h.db.by_uuid("VM", vm_uuid), alive)
        return True

    def truth(self):
        with self.pool.lock:
            return self.pool.truth.snapshot()

    def double_runs(self):
        with self.pool.lock:
            return list(self.pool.truth.double_runs)

    def masters(self):
        """Every master tenure: {"host" (uuid), "name", "start", "end" (None: still)}."""
        with self.pool.lock:
            self.pool.tick()
            return [dict(t) for t in self.pool.truth.masters]

    def masters_violations(self):
        """Writes a master accepted while another powered master existed (the pool's
        at-most-one-master invariant: empty in every test)."""
        with self.pool.lock:
            return [dict(v) for v in self.pool.truth.masters_violations]

    def xapi_shutdowns(self):
        """Domains a host's xapi shut down by itself (resync_resident_on)."""
        with self.pool.lock:
            return [dict(v) for v in self.pool.truth.xapi_shutdowns]

    def toolstack_restart(self, host, seconds=None):
        """xe-toolstack-restart on ``host``: xapi stops at once and listens again after
        ``seconds`` (default: knob xapi_restart), then starts as pool.conf says."""
        with self.pool.lock:
            self.pool.toolstack_restart(self.pool.host(host), seconds)
        return True

    def xapi_state(self, host):
        """``host``'s xapi: "running", "down" (restarting) or "off"; emergency mode; the
        role it acts in and the one pool.conf holds; a lit fuse; its backup's age."""
        with self.pool.lock:
            self.pool.tick()
            h = self.pool.host(host)
            return {
                "xapi": h.xapi,
                "emergency": self.pool.in_emergency(h),
                "role": h.role,
                "pool_conf": h.pool_conf,
                "fuse_lit": h.fuse_at is not None,
                "starting": h.startup_done_at is not None,
                "backup_age": None if h.backup_time is None else time.time() - h.backup_time,
            }

    def set_knob(self, name, value):
        """Change a knob of knobs.DEFAULT_KNOBS (seconds, or local_reads' word)."""
        from .knobs import knob_value

        with self.pool.lock:
            self.pool.knobs[name] = knob_value(name, value)
        return True

    def session_count(self, originator=""):
        """Sessions open on all hosts (of ``originator`` if given)."""
        with self.pool.lock:
            return sum(h.sessions.count(originator or None) for h in self.pool.hosts)

    def set_session_cap(self, group, cap):
        """Change a session cap ("originator", "user", "anonymous") on every host."""
        with self.pool.lock:
            for h in self.pool.hosts:
                h.sessions.caps[group] = int(cap)
        return True

    def host_state(self, host):
        with self.pool.lock:
            h = self.pool.host(host)
            return {
                "up": h.up,
                "isolated": h.isolated,
                "role": h.role,
                "master_address": h.master_address,
                "emergency": self.pool.in_emergency(h),
                "reaches": [
                    o.name for o in self.pool.hosts if o is not h and self.pool.reach(h, o)
                ],
            }

    def record(self, cls, uuid, host=""):
        """A record as ``host``'s database holds it (default: the first master's)."""
        with self.pool.lock:
            db = self._db(host)
            return db.record(cls, db.by_uuid(cls, uuid))

    def set_field(self, cls, uuid, field, value, host=""):
        """Change a field behind XAPI's back (e.g. other_config, power_state)."""
        if field not in CLASSES[cls]["defaults"]:
            raise ValueError("%s has no field %s" % (cls, field))
        with self.pool.lock:
            db = self._db(host)
            db.set(cls, db.by_uuid(cls, uuid), field, value)
        return True

    def inject(self, method="*", host="", latency=0.0, hang=False, error=None, count=-1):
        """Fault for calls ``method`` on ``host``: latency (s), hang, or an error
        description; ``count`` times (-1: until cleared)."""
        inj = Injection(method, host or None, latency, hang, error, None if count < 0 else count)
        with self.pool.lock:
            self.pool.injections.append(inj)
        return True

    def clear_injections(self):
        with self.pool.lock:
            self.pool.injections[:] = []
        return True

    def set_timing(self, name, value):
        with self.pool.lock:
            if name not in self.pool.timing:
                raise ValueError("unknown timing %s" % name)
            self.pool.timing[name] = float(value)
        return True

    def _db(self, host):
        if host:
            return self.pool.host(host).db
        return next(h.db for h in self.pool.hosts if h.role == "master" and h.up)


class _Quiet(SimpleXMLRPCRequestHandler):
    def log_message(self, format, *args):
        pass


class ControlServer(SimpleXMLRPCServer):
    allow_reuse_address = True

    def __init__(self, control, address="127.0.0.1", port=0):
        super().__init__((address, port), _Quiet, allow_none=True, logRequests=False)
        for name in dir(control):
            if not name.startswith("_") and callable(getattr(control, name)):
                self.register_function(getattr(control, name), "sim." + name)

    def start(self):
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        ).start()
        return "http://%s:%d/" % self.server_address
