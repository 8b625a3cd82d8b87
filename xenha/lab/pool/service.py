"""The lab's XAPI pool: one simulator process whose host endpoints live in the hosts.

Each host's endpoint listens inside that host's network namespace (HTTP on 80,
HTTPS on 443, as on a real host) and on a unix socket that the host sees at
/var/lib/xcp/xapi, where agents look for their local xapi. Each host's hypervisor
answers through its own ``list_domains`` (first on the host's PATH: Host.bin), which
asks the simulator's truth for that host over the control socket (the hosts'
loopbacks are not the simulator's). The simulator runs in the machine's namespace,
so the lab tells it when a host loses power.
"""

import json
import subprocess
import sys
import time
import xmlrpc.client

from xenha.errors import XenhaError
from xenha.lab.hosts import STATE
from xenha.lab.pool import list_domains
from xenha.lab.proc import PidFile

SIM_DIR = STATE / "xapi"
INFO = SIM_DIR / "info.json"
PIDFILE = STATE / "xapisim.pid"

# The knobs the lab still runs kinder than xapi (docs/xapi.md, "Kinder values in use
# today"): a master change restarts xapi at once instead of after a 10 s fuse and 20 s
# of refused connections. With xapi's values the lab's takeovers do not yet recover
# every VM within their time (VM starts race the slaves' restarts: issue 12's notes).
# Toolstack restarts (sim.toolstack_restart) keep their real length.
LAB_KNOBS = {"xapi_fuse": 0, "xapi_restart": 0}


def start(hosts, vms, timeout=30.0):
    """Serve a pool of ``hosts`` (lab Hosts, first is master) with ``vms`` running VMs,
    with xapi's windows as xapi has them but for LAB_KNOBS."""
    SIM_DIR.mkdir(parents=True, mode=0o700, exist_ok=True)
    desc = {
        "pool": {"name_label": "xenha-lab"},
        "hosts": [
            {
                "name": h.name,
                "address": h.address,
                "netns": "/run/netns/" + h.cable.netns,
                "socket": str(h.xapi_dir / "xapi"),
                "pool_conf": str(h.xensource_dir / "pool.conf"),  # its /etc/xensource
            }
            for h in hosts
        ],
        "knobs": LAB_KNOBS,
        "vms": [{"name": "vm%d" % (i + 1), "host": hosts[i % len(hosts)].name} for i in range(vms)],
        "srs": [{"name": "shared-sr"}],
    }
    state_file = SIM_DIR / "state.json"
    state_file.write_text(json.dumps(desc, indent=1))
    argv = [
        sys.executable,
        "-m",
        "xenha.lab.pool",
        "--json",
        "--state-dir",
        str(SIM_DIR),
        "--state-file",
        str(state_file),
        "--https",
        "--port",
        "80",
        "--https-port",
        "443",
    ]
    with open(SIM_DIR / "info.json.tmp", "w") as out, open(SIM_DIR / "sim.log", "a") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=log, start_new_session=True
        )
    PidFile(PIDFILE).write(proc.pid)
    deadline = time.monotonic() + timeout
    while True:
        text = (SIM_DIR / "info.json.tmp").read_text()
        if text.endswith("\n"):
            (SIM_DIR / "info.json.tmp").rename(INFO)
            served = json.loads(text)
            for h in hosts:  # each host's hypervisor: the truth for that host
                list_domains.write_wrapper(
                    str(h.bin), h.name, served["control_socket"], python=h.python
                )
            return served
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise XenhaError("the XAPI simulator did not start; see %s" % (SIM_DIR / "sim.log"))
        time.sleep(0.05)


def info():
    try:
        return json.loads(INFO.read_text())
    except (OSError, ValueError):
        raise XenhaError("the lab's XAPI simulator is not running") from None


def control():
    """The simulator's control API (``sim.*`` calls: power_off, truth, double_runs, …)."""
    return xmlrpc.client.ServerProxy(info()["control"], allow_none=True).sim
