"""The ``sim.*`` control API: physical events, fault injection and inspection.

Served on its own loopback port, never on the XAPI endpoints, so that what a client
sees of XAPI is only XAPI.
"""

import collections
import os
import socket
import threading
import time
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from .lifecycle import set_guest_live
from .list_domains import table
from .rpc import Injection
from .schema import CLASSES, as_stored
from .wire import as_read_over_xml_rpc


class _Counting:
    """A dispatcher that counts the XAPI calls each host's endpoint serves."""

    def __init__(self, dispatcher, counts, lock):
        self.dispatcher, self.counts, self.lock = dispatcher, counts, lock

    def handle(self, host, method, params, wire):
        with self.lock:
            self.counts[(host.name, method)] += 1
        return self.dispatcher.handle(host, method, params, wire)


class Control:
    def __init__(self, pool, info, endpoints=None):
        self.pool = pool
        self.info_doc = info
        self.endpoints = endpoints or {}
        self.counts = collections.Counter()
        for ep in self.endpoints.values():
            ep.dispatcher = _Counting(ep.dispatcher, self.counts, pool.lock)

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

    def pause_domain(self, vm_uuid, paused=True):
        """The hypervisor pauses (or unpauses) the VM's domain, behind xapi's back (as
        ``xl pause`` would); the database is left as it is."""
        with self.pool.lock:
            for host in self.pool.truth.hosts_running(vm_uuid):
                self.pool.truth.pause(host, vm_uuid, bool(paused))
        return True

    def domains(self, host):
        """What ``host``'s hypervisor lists (``list_domains`` in the lab): its control
        domain (domid 0) and every domain the truth runs there, as {"domid", "uuid",
        "state"}. A host without power has no hypervisor to ask: an error, never "no
        domains"."""
        with self.pool.lock:
            h = self.pool.host(host)
            if not h.up:
                raise RuntimeError("host %s is powered off" % h.name)
            dom0 = h.db.record("VM", h.db.record("host", h.ref)["control_domain"])["uuid"]
            return [{"domid": 0, "uuid": dom0, "state": "    R "}] + self.pool.truth.listing(h.uuid)

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

    def set_clock_offset(self, host, seconds):
        """Make ``host``'s clock run ``seconds`` ahead (behind, if negative)."""
        with self.pool.lock:
            self.pool.host(host).clock_offset = float(seconds)
        return True

    def session_count(self, originator=""):
        """Sessions open on all hosts (of ``originator`` if given)."""
        with self.pool.lock:
            return sum(h.sessions.count(originator or None) for h in self.pool.hosts)

    def xapi_calls(self, host=""):
        """XAPI calls served so far, by method: by ``host``'s endpoint, else by all of them
        (a call a slave forwards to its master counts at both)."""
        with self.pool.lock:
            found = collections.Counter()
            for (name, method), n in self.counts.items():
                if not host or name == self.pool.host(host).name:
                    found[method] += n
            return dict(found)

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
        """A record as ``host``'s database holds it (default: the first master's), read
        as the SDK reads it over XML-RPC (int64 as strings)."""
        with self.pool.lock:
            db = self._db(host)
            return as_read_over_xml_rpc(db.record(cls, db.by_uuid(cls, uuid)))

    def set_field(self, cls, uuid, field, value, host=""):
        """Change a field behind XAPI's back (e.g. other_config, power_state)."""
        if field not in CLASSES[cls]["defaults"]:
            raise ValueError("%s has no field %s" % (cls, field))
        value = as_stored(cls, field, value)
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

    def do_GET(self):
        """``GET /list_domains/<host>``: what list_domains prints on that host (the lab's
        list_domains is this one request: no XML-RPC client to load on every monitor);
        503 with the reason when it cannot be asked."""
        prefix = "/list_domains/"
        if not self.path.startswith(prefix):
            self.report_404()
            return
        try:
            rows = self.server.control.domains(self.path[len(prefix) :])
            status, body = 200, table([[str(d["domid"]), d["uuid"], d["state"]] for d in rows])
        except (KeyError, RuntimeError) as e:
            status, body = 503, "%s\n" % e
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _QuietLocal(_Quiet):
    disable_nagle_algorithm = False  # no TCP on a unix socket


class ControlServer(SimpleXMLRPCServer):
    allow_reuse_address = True
    handler = _Quiet

    def __init__(self, control, address=("127.0.0.1", 0)):
        super().__init__(address, self.handler, allow_none=True, logRequests=False)
        self.control = control
        for name in dir(control):
            if not name.startswith("_") and callable(getattr(control, name)):
                self.register_function(getattr(control, name), "sim." + name)

    def start(self):
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        ).start()
        return self.url()

    def url(self):
        return "http://%s:%d/" % self.server_address


class ControlSocket(ControlServer):
    """The same API on a unix socket, for callers in other network namespaces: the lab
    hosts' ``list_domains`` (their loopback is not the simulator's)."""

    address_family = socket.AF_UNIX
    allow_reuse_address = False
    handler = _QuietLocal

    def __init__(self, control, path):
        if os.path.exists(path):
            os.unlink(path)
        super().__init__(control, path)

    def url(self):
        return "unix:" + self.server_address
