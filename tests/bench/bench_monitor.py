"""Benchmark: `xen-vm monitor` against `fence_xenapi -o status` on the same simulated VM.

    .venv/bin/python tests/bench/bench_monitor.py [--runs 30] [--monitors 1000]

Both run as a pool host would run them: new processes of the system Python
(/usr/bin/python3) with the official XenAPI SDK on its path; the runs alternate
so both see the same machine load. Prints the median wall time of each, their
ratio (target: xen-vm / fence_xenapi <= 0.5), the XAPI calls each makes per run on
the pool master and on every host (the simulator counts the calls its endpoints
serve), and the simulator's session count before and after ``--monitors`` monitors
(xen-vm's monitor of a VM given by UUID asks the hypervisor and opens none, a deeper
one keeps one cached session per node; fence_xenapi logs in on every run and never
logs out). It also times, in the same alternation, the floor of any per-process
client on the official SDK: the system Python starting, importing XenAPI and exiting
(``os._exit``, as the agents do).

xen-vm's monitor asks the node's hypervisor (list_domains), here the lab's stand-in,
a Python script that asks the simulator for its truth: its own time is printed too,
since a dom0's list_domains (one hypercall, native code) costs far less.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from xenha import install  # noqa: E402
from xenha.lab.pool import list_domains  # noqa: E402
from xenha.lab.pool.testing import running_pool  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
FENCE_XENAPI = "/usr/sbin/fence_xenapi"
NODE = "host2"


def node_setup(root):
    """Agents installed for the system Python; its PYTHONPATH (xenha + the XenAPI SDK)."""
    import XenAPI

    sdk = os.path.join(root, "sdk")
    os.mkdir(sdk)
    os.symlink(os.path.dirname(XenAPI.__file__), os.path.join(sdk, "XenAPI"))
    install.install(root, python=SYSTEM_PYTHON)
    return os.path.join(root, install.OCF_DIR, "xen-vm"), "%s:%s" % (REPO, sdk)


class Calls:
    """XAPI calls the simulator's endpoints served during ``with`` blocks, by host."""

    def __init__(self, sim):
        self.sim, self.runs, self.by_host = sim, 0, {}

    def _now(self):
        return {h.name: sum(self.sim.xapi_calls(h.name).values()) for h in self.sim.hosts}

    def __enter__(self):
        self._before = self._now()

    def __exit__(self, *exc):
        after = self._now()
        for host, n in after.items():
            self.by_host[host] = self.by_host.get(host, 0) + n - self._before[host]
        self.runs += 1

    def per_run(self, host=None):
        total = self.by_host.get(host, 0) if host else sum(self.by_host.values())
        return total / max(self.runs, 1)


def timed(argv, env, stdin=None, expect=(0,)):
    start = time.perf_counter()
    p = subprocess.run(
        argv,
        env=env,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    elapsed = time.perf_counter() - start
    if p.returncode not in expect:
        raise SystemExit("%s exited %d: %s%s" % (argv[0], p.returncode, p.stdout, p.stderr))
    return elapsed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30, help="alternating runs of each (default 30)")
    ap.add_argument(
        "--monitors", type=int, default=1000, help="monitors for the session count (default 1000)"
    )
    args = ap.parse_args(argv)
    for tool in (SYSTEM_PYTHON, FENCE_XENAPI):
        if not os.access(tool, os.X_OK):
            raise SystemExit("%s is missing (Debian: python3, fence-agents)" % tool)

    root = tempfile.mkdtemp(prefix="xenha-bench-")
    try:
        agent, pythonpath = node_setup(root)
        rsctmp = os.path.join(root, "rsctmp")
        with running_pool(hosts=3, vms=3) as sim:
            vm = sim.vms[1]  # runs on host2
            hypervisor = os.path.join(root, "hypervisor")
            stand_in = list_domains.write_wrapper(hypervisor, NODE, sim.control_url)
            monitor_env = {
                "PATH": "%s:%s" % (hypervisor, os.environ["PATH"]),
                "PYTHONPATH": pythonpath,
                "HA_RSCTMP": rsctmp,
                "OCF_ROOT": "/usr/lib/ocf",
                "OCF_RESOURCE_INSTANCE": "bench-vm",
                "OCF_RESKEY_vm": vm,
                "OCF_RESKEY_xapi_url": sim.host(NODE).url,
                "OCF_RESKEY_xapi_password_file": sim.password_file,
                "OCF_RESKEY_CRM_meta_on_node": NODE,
                "OCF_RESKEY_CRM_meta_interval": "10000",
                "OCF_RESKEY_CRM_meta_timeout": "20000",
            }
            fence_env = {"PATH": os.environ["PATH"], "PYTHONPATH": pythonpath}
            # fence-agents read options from stdin, as the fencer passes them (no argv secrets)
            fence_stdin = "action=status\nsession_url=%s\nusername=%s\npassword=%s\nplug=%s\n" % (
                sim.master.url,
                sim.user,
                sim.password(),
                vm,
            )
            monitor_cmd = [agent, "monitor"]
            fence_cmd = [SYSTEM_PYTHON, FENCE_XENAPI]
            floor_cmd = [SYSTEM_PYTHON, "-c", "import os, XenAPI; os._exit(0)"]
            timed(monitor_cmd, monitor_env)  # a first run, not timed (cold caches)
            ours, theirs, floor, stand = [], [], [], []
            ours_calls, theirs_calls = Calls(sim), Calls(sim)
            fence_sessions = sim.session_count()
            for _ in range(args.runs):
                with ours_calls:
                    ours.append(timed(monitor_cmd, monitor_env))
                with theirs_calls:
                    theirs.append(timed(fence_cmd, fence_env, fence_stdin))
                floor.append(timed(floor_cmd, fence_env))
                stand.append(timed([stand_in], fence_env))
            fence_sessions = sim.session_count() - fence_sessions

            before = sim.session_count()
            for _ in range(args.monitors):
                timed(monitor_cmd, monitor_env)
            after = sim.session_count()

        master = sim.master.name
        m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
        print("runs: %d of each, alternating, on VM %s (Running on %s)" % (args.runs, vm, NODE))
        print("xen-vm monitor           median %7.1f ms" % (m_ours * 1000))
        print("fence_xenapi -o status   median %7.1f ms" % (m_theirs * 1000))
        print("ratio xen-vm/fence_xenapi       %7.2f  (target <= 0.5)" % (m_ours / m_theirs))
        m_floor = statistics.median(floor)
        print(
            "python3 + import XenAPI   median %7.1f ms  (floor; ratio %.2f)"
            % (m_floor * 1000, m_floor / m_theirs)
        )
        print(
            "list_domains (lab stand-in) median %7.1f ms  (in every xen-vm monitor)"
            % (statistics.median(stand) * 1000)
        )
        for name, counted in (
            ("xen-vm monitor", ours_calls),
            ("fence_xenapi status", theirs_calls),
        ):
            print(
                "XAPI calls per %-20s %5.1f on the master (%s), %5.1f on all hosts"
                % (name, counted.per_run(master), master, counted.per_run())
            )
        print("sessions opened by %d fence_xenapi runs: %d" % (args.runs, fence_sessions))
        print(
            "simulator sessions before/after %d xen-vm monitors: %d / %d"
            % (args.monitors, before, after)
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
