"""Lab machines: each one a set of Linux namespaces with an init of its own.

A machine is a network namespace on the lab bridge plus, inside it, a process
started with ``unshare --mount --uts --pid --ipc --fork``: the machine's init.
The init bind-mounts the machine's private directories over the real ones,
mounts a fresh /run, /dev/shm and /proc, then runs the machine's services in
the foreground. Killing the init kills every process of the machine at once:
a power cut.

A pool host runs corosync (and corosync-qdevice when the cluster has an
arbiter) and pacemakerd; the arbiter runs corosync-qnetd. Its services find the
host's own tools first on PATH (its ``bin`` directory): there the lab puts the
host's ``list_domains``, its hypervisor's answer (xenha.lab.pool.service), so the
agents Pacemaker runs ask it exactly as on a dom0.

A machine may run on another cluster stack (``stack``, xenha.lab.stacks): its init
then mounts the same directories into that root and runs its services chrooted there.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from xenha import boot_role
from xenha.crm.totem import AUTHKEY
from xenha.errors import XenhaError
from xenha.install import ALERT_STATE_DIR
from xenha.lab import network
from xenha.lab.proc import PidFile, run

STATE = Path("/var/lib/xenha-lab")  # not under /run: the machines mount a /run of their own

XAPI_DIR = "/var/lib/xcp"  # a real dom0's local xapi socket lives here
XAPI_SOCKETS = STATE / "xcp"
XENSOURCE_DIR = "/etc/xensource"  # a real dom0's pool.conf (xapi's role) lives here
POOL_CONFS = STATE / "xensource"
FOLLOW_EVERY = 5  # seconds: the lab's xenha-follow pace (a dom0's is xenha.install's)
FOLLOW_LOG = "/var/log/pacemaker/xenha-follow.log"  # inside the host: its own log directory

INIT = """\
set -e
mount --make-rprivate /
for d in {mounts}; do mount --bind "{root}/$d" "/$d"; done
{binds}
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t proc proc /proc
hostname {name}
{services}
wait
"""

# A machine on another cluster stack (xenha.lab.stacks): the same mounts inside that root,
# which also sees the lab's state, this checkout and the XenAPI module at their paths;
# then its services run chrooted there.
STACKED_INIT = """\
set -e
mount --make-rprivate /
S="{stack}"
mount --rbind /dev "$S/dev"
for d in {mounts}; do mkdir -p "$S/$d"; mount --bind "{root}/$d" "$S/$d"; done
{binds}
mount -t tmpfs -o mode=0755 tmpfs "$S/run"
mount -t tmpfs -o mode=1777 tmpfs "$S/dev/shm"
mount -t proc proc "$S/proc"
hostname {name}
exec chroot "$S" /bin/bash "{root}/services.sh"
"""


class Machine:
    """A lab machine: its name, address, private directories, services and power."""

    mounts = ()  # directories (relative to /) the machine has private copies of
    binds = ()  # (outside path, inside path) pairs also bind-mounted
    services = ""  # shell lines its init runs; long-running ones end with &

    def __init__(self, name, address, veth, stack=None):
        self.name = name
        self.address = address
        self.root = STATE / name
        self.cable = network.Cable(name, address, veth)
        self.init = PidFile(self.root / "init.pid")
        self.stack = stack  # xenha.lab.stacks' name of the root it runs on; None: this one

    def create(self):
        """Lay out the private directories and plug the machine into the lab network."""
        for d in self.mounts:
            (self.root / d).mkdir(parents=True, exist_ok=True)
            (Path("/") / d).mkdir(parents=True, exist_ok=True)  # the mount point
        for outside, _ in self.binds:
            Path(outside).mkdir(parents=True, exist_ok=True)
        if self.stack is None:
            binds = "\n".join('mount --bind "%s" "%s"' % pair for pair in self.binds)
            script = INIT.format(
                mounts=" ".join(self.mounts),
                binds=binds,
                root=self.root,
                name=self.name,
                services=self.services,
            )
        else:
            script = self._stacked_init()
        (self.root / "init.sh").write_text(script)
        self.cable.plug()

    def _stacked_init(self):
        from xenha.lab import stacks

        root = stacks.path(self.stack)
        # Shared at the same paths: the lab's state (its files, sockets, the recorder) and
        # this checkout (xenha itself).
        shared = [str(STATE), stacks.checkout()]
        pairs = list(self.binds) + [(p, p) for p in shared]
        lines = []
        for outside, inside in pairs:
            inside = '"$S%s"' % inside
            if os.path.isdir(outside):
                lines.append("mkdir -p %s" % inside)
            else:
                lines.append('mkdir -p "$(dirname %s)"; touch %s' % (inside, inside))
            lines.append('mount --bind "%s" %s' % (outside, inside))
        lines += stacks.xenapi_mount('"$S"')
        (self.root / "services.sh").write_text(self.services + "\nwait\n")
        return STACKED_INIT.format(
            stack=root,
            mounts=" ".join(self.mounts),
            binds="\n".join(lines),
            root=self.root,
            name=self.name,
        )

    def power_on(self):
        """Boot: a fresh init in fresh namespaces."""
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
        self.init.write(_child_of(proc.pid))

    def is_on(self):
        return self.init.pid() is not None

    def power_cut(self):
        """Kill the init and with it every process of the machine, as a power cut does."""
        self.init.kill()

    def enter(self, argv):
        """The command line that runs ``argv`` inside the running machine."""
        pid = self.init.pid()
        if pid is None:
            raise XenhaError("%s is powered off" % self.name)
        chroot = ["-r", "-w"] if self.stack else []  # into the root its init runs in
        return (
            ["nsenter", "-t", str(pid), "-m", "-u", "-n", "-i", "-p"] + chroot + ["--"] + list(argv)
        )

    def exec(self, argv, **kw):
        """Run ``argv`` inside the machine (its mounts, hostname, network, IPC, PIDs)."""
        return run(self.enter(argv), **kw)

    def load_crm(self, crm_text):
        """``crm configure load update`` of ``crm_text`` inside this machine."""
        return self.exec(["crm", "configure", "load", "update", "-"], input=crm_text, timeout=120)


def _child_of(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.01)
    raise XenhaError("lab machine init (unshare pid %d) did not start" % pid)


class Host(Machine):
    """Pool host number ``index`` (1..N), running corosync and pacemakerd."""

    mounts = (
        "etc/corosync",
        "var/lib/pacemaker",
        "var/lib/corosync",
        "var/log/pacemaker",
        "var/log/corosync",
        ALERT_STATE_DIR,  # each host its own suppression records, as on real hosts
        os.path.dirname(boot_role.RECORD).lstrip("/"),  # xapi-pool-master's record
    )
    pacemaker_subdirs = ("cib", "pengine", "blackbox", "cores")

    def __init__(self, index, qdevice=False, stack=None):
        veth = network.VETH_PREFIX + str(index)
        super().__init__("host%d" % index, network.PREFIX + str(10 + index), veth, stack)
        self.index = index
        self.xapi_dir = XAPI_SOCKETS / self.name  # the simulator's socket for this host
        self.xensource_dir = POOL_CONFS / self.name  # the simulator writes pool.conf here
        self.binds = ((str(self.xapi_dir), XAPI_DIR), (str(self.xensource_dir), XENSOURCE_DIR))
        self.bin = self.root / "bin"  # this host's own tools, first on its services' PATH
        # xenha's Python on this host: this one, or the stack's (its site has xenha: stacks)
        self.python = sys.executable if stack is None else "/usr/bin/python3"
        self.services = "\n".join(
            [
                'export PATH="%s:$PATH"' % self.bin,
                "mkdir -p /run/crm /run/xenha",
                "chown hacluster:haclient /run/crm",
                "corosync -f &",
                "until corosync-cfgtool -s >/dev/null 2>&1; do sleep 0.1; done",
                "corosync-qdevice -f &" if qdevice else "",
                "pacemakerd -f &",
                # as the xenha-follow service runs on a dom0, with the lab's pace
                "%s -m xenha.cli.main vm follow --every %d >> %s 2>&1 &"
                % (self.python, FOLLOW_EVERY, FOLLOW_LOG),
            ]
        )

    def cluster_ids(self):
        """(uid, gid) of hacluster and haclient where its services run (ALERT_USER is
        hacluster)."""
        from xenha.lab import stacks

        return stacks.cluster_ids(self.stack)

    def create(self, corosync_conf, authkey):
        """Lay the host out with its corosync.conf and corosync's shared key (bytes)."""
        super().create()
        pcmk = self.root / "var/lib/pacemaker"
        uid, gid = self.cluster_ids()
        for d in [pcmk, self.root / "var/log/pacemaker"] + [
            pcmk / s for s in self.pacemaker_subdirs
        ]:
            d.mkdir(exist_ok=True)
            os.chown(d, uid, gid)
        alerts = self.root / ALERT_STATE_DIR
        os.chown(alerts, uid, gid)
        alerts.chmod(0o700)
        (self.root / "etc/corosync/corosync.conf").write_text(corosync_conf)
        key = self.root / AUTHKEY.lstrip("/")
        key.write_bytes(authkey)
        key.chmod(0o400)


class Arbiter(Machine):
    """The quorum arbiter of a 2-node cluster: corosync-qnetd on its own machine.

    TLS between qdevice and qnetd is off in the lab (no certificate authority and
    NSS databases to set up): qnetd runs with ``-s off`` and the lab's description
    says ``quorum.qdevice.tls: off``, which the generator writes into corosync.conf.
    Production keeps corosync's default, TLS on.
    """

    ADDRESS = network.PREFIX + "2"
    mounts = ("etc/corosync",)
    tls = "off"  # corosync-qnetd -s and the description's quorum.qdevice.tls

    def __init__(self):
        super().__init__("arbiter", self.ADDRESS, network.VETH_PREFIX + "q")
        self.services = "corosync-qnetd -f -s %s -l %s &" % (self.tls, self.ADDRESS)
