"""``running_pool``: a simulated pool in a subprocess, for tests.

    with running_pool(hosts=3, vms=4) as sim:
        sim.master.url, sim.hosts[1].uuid, sim.vms[0], sim.password_file
        sim.power_off("host2"); sim.truth(); assert sim.double_runs() == []

Any process can drive the same pool through ``sim.control_url`` (the ``sim.*`` API).
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import xmlrpc.client


class SimHost:
    def __init__(self, d):
        self.name, self.uuid, self.address = d["name"], d["uuid"], d["address"]
        self.url = d["http"]
        self.https_url = d.get("https")
        self.socket = d.get("socket")
        self.pool_conf = d.get("pool_conf")  # the file xapi's role is written to
        self.fingerprint = d.get("fingerprint")  # SHA-256 of its own HTTPS certificate

    def role_on_disk(self):
        """What this host's pool.conf says ("master" or "slave:<address>")."""
        with open(self.pool_conf) as f:
            return f.read()

    def __repr__(self):
        return "<SimHost %s %s>" % (self.name, self.url)


class SimPoolHandle:
    """Endpoints of a running simulated pool, and its control methods."""

    def __init__(self, info):
        self.info = info
        self.hosts = [SimHost(h) for h in info["hosts"]]
        self.vms = [v["uuid"] for v in info["vms"]]
        self.vm_names = {v["uuid"]: v["name"] for v in info["vms"]}
        self.user = info["user"]
        self.password_file = info["password_file"]
        self.ca_file = info["ca_file"]  # every host's certificate (with https=True)
        self.control_url = info["control"]
        self._control = xmlrpc.client.ServerProxy(self.control_url, allow_none=True)

    @property
    def master(self):
        """The host that was master at start."""
        return self.host(self.info["master"])

    @property
    def slaves(self):
        return [h for h in self.hosts if h.name != self.info["master"]]

    def host(self, key):
        return next(h for h in self.hosts if key in (h.name, h.uuid, h.address))

    def password(self):
        with open(self.password_file) as f:
            return f.read().strip()

    def __getattr__(self, name):
        """Control calls: power_off(host), power_on(host), isolate(host, on),
        partition(groups), kill_domain(vm), pause_domain(vm, paused), set_guest_alive(vm,
        alive), truth(), domains(host), double_runs(), session_count(originator),
        xapi_calls(host), set_session_cap(group, n),
        host_state(host), record(cls, uuid, host),
        set_field(cls, uuid, field, value, host), inject(method, host, latency, hang,
        error, count), clear_injections(), set_timing(name, seconds), set_knob(name, value),
        set_clock_offset(host, seconds), toolstack_restart(host, seconds), xapi_state(host),
        masters(), masters_violations(), xapi_shutdowns()."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._control, "sim." + name)


@contextlib.contextmanager
def running_pool(hosts=3, vms=4, state=None, https=False, sockets=False, timing=None, knobs=None):
    """Serve a simulated pool from a subprocess; yield a SimPoolHandle.

    ``state``: a description dict (see xenha.lab.pool.state) instead of the counts;
    ``knobs`` (or ``timing``, its older name): overrides of knobs.DEFAULT_KNOBS
    (heartbeat_interval, assumed_dead_interval, db_sync_interval, xapi_fuse,
    xapi_restart, master_startup, hello_retry, local_reads).
    """
    timing = dict(timing or {}, **(knobs or {}))
    directory = tempfile.mkdtemp(prefix="xapisim-")
    argv = [sys.executable, "-m", "xenha.lab.pool", "--json", "--until-stdin-closes"]
    argv += ["--state-dir", directory]
    if state is None and timing:
        from .state import describe

        state = describe(hosts, vms)
    if state is not None:
        state = dict(state, knobs=dict(state.get("knobs", {}), **timing))
        path = os.path.join(directory, "state.json")
        with open(path, "w") as f:
            json.dump(state, f)
        argv += ["--state-file", path]
    else:
        argv += ["--hosts", str(hosts), "--vms", str(vms)]
    if https:
        argv.append("--https")
    if sockets:
        argv += ["--socket-dir", os.path.join(directory, "sockets")]
    # The simulator stops when our end of its stdin closes, even if we are killed.
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True
    )
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the XAPI simulator did not start (exit %s)" % proc.wait(10))
        yield SimPoolHandle(json.loads(line))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        shutil.rmtree(directory, ignore_errors=True)
