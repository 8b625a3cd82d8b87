"""Lab pool hosts: each one a set of Linux namespaces running real corosync and pacemakerd.

A host is a network namespace on the lab bridge plus, inside it, a process
started with ``unshare --mount --uts --pid --ipc --fork``: the host's init.
The init mounts the host's own /etc/corosync, /var/lib/pacemaker, logs, a
fresh /run and /dev/shm, then runs corosync and pacemakerd in the foreground.
Killing the init kills every process of the host at once: a power cut.
"""

import shutil
import subprocess
from pathlib import Path

from xenha.errors import XenhaError
from xenha.lab import network
from xenha.lab.proc import PidFile, run

STATE = Path("/var/lib/xenha-lab")  # not under /run: the hosts mount a /run of their own

# The host's own copies of the machine's cluster directories, bind-mounted over them.
MOUNTS = (
    "etc/corosync",
    "var/lib/pacemaker",
    "var/lib/corosync",
    "var/log/pacemaker",
    "var/log/corosync",
)
PACEMAKER_SUBDIRS = ("cib", "pengine", "blackbox", "cores")

INIT = """\
set -e
mount --make-rprivate /
for d in {mounts}; do mount --bind "{root}/$d" "/$d"; done
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t proc proc /proc
hostname {name}
mkdir -p /run/crm /run/xenha
chown hacluster:haclient /run/crm
corosync -f &
until corosync-cfgtool -s >/dev/null 2>&1; do sleep 0.1; done
pacemakerd -f &
wait
"""


class Host:
    """Lab pool host number ``index`` (1..N): its name, address, files and power."""

    def __init__(self, index):
        self.index = index
        self.name = "host%d" % index
        self.address = network.PREFIX + str(10 + index)
        self.root = STATE / self.name
        self.cable = network.Cable(self.name, self.address, "xhv%d" % index)
        self.init = PidFile(self.root / "init.pid")

    def create(self, corosync_conf):
        """Lay out the host's private directories and plug it into the lab network."""
        for d in MOUNTS:
            (self.root / d).mkdir(parents=True, exist_ok=True)
        pcmk = self.root / "var/lib/pacemaker"
        for d in [pcmk, self.root / "var/log/pacemaker"] + [pcmk / s for s in PACEMAKER_SUBDIRS]:
            d.mkdir(exist_ok=True)
            shutil.chown(d, "hacluster", "haclient")
        (self.root / "etc/corosync/corosync.conf").write_text(corosync_conf)
        (self.root / "init.sh").write_text(
            INIT.format(mounts=" ".join(MOUNTS), root=self.root, name=self.name)
        )
        self.cable.plug()

    def power_on(self):
        """Boot: a fresh init in fresh namespaces (fresh /run, corosync and pacemaker)."""
        if self.is_on():
            return
        with open(self.root / "console.log", "ab") as log:
            proc = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.cable.netns,
                    "unshare",
                    "--mount",
                    "--uts",
                    "--pid",
                    "--ipc",
                    "--fork",
                    "--kill-child",
                    "bash",
                    str(self.root / "init.sh"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        # The init is unshare's child: PID 1 of the new PID namespace.
        self.init.write(self._child_of(proc.pid))

    @staticmethod
    def _child_of(pid, timeout=5.0):
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                children = Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()
            except OSError:
                children = []
            if children:
                return int(children[0])
            time.sleep(0.01)
        raise XenhaError("lab host init (unshare pid %d) did not start" % pid)

    def is_on(self):
        return self.init.pid() is not None

    def power_cut(self):
        """Kill the init and with it every process of the host, as a power cut does."""
        self.init.kill()

    def exec(self, argv, **kw):
        """Run a command inside the running host (its mounts, hostname, network, IPC, PIDs)."""
        pid = self.init.pid()
        if pid is None:
            raise XenhaError("%s is powered off" % self.name)
        return run(["nsenter", "-t", str(pid), "-m", "-u", "-n", "-i", "-p", "--"] + argv, **kw)
