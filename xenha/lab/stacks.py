"""Other cluster stacks than this machine's: Debian root filesystems with another
Pacemaker, Corosync, crmsh, resource-agents and Python, built once with debootstrap
and cached, and commands run inside them.

The stacks users' dom0s come closest to (docs/platforms.md): Debian 11 (bullseye)
has Pacemaker 2.0.5, Corosync 3.1.2, Python 3.9; Debian 13 (trixie) Pacemaker 3.0,
Corosync 3.1.9, Python 3.13. This machine (Debian 12) has 2.1.5 and Python 3.11.

A root is built by ``debootstrap --variant=minbase`` and then ``apt-get install`` in
it (debootstrap's own ``--include`` cannot order a dependency tree this deep), with
services kept from starting (policy-rc.d). It is cached under CACHE with a stamp
naming what it was built with; a root whose stamp differs is built anew. Building
takes a few minutes and needs the Debian mirror this machine's apt uses.

The tests run commands in a root (:func:`run`); the lab runs its hosts on one
(``xenha lab up --stack``: :func:`prepare_lab`, xenha.lab.hosts).

:func:`run` runs a command in a root through ``unshare --mount`` and ``chroot``: /proc,
/dev, a checkout of xenha (at its own path, on PYTHONPATH with the XenAPI module) and
any directory shared with this machine are mounted in a private mount namespace that
ends with the command.
"""

import collections
import fcntl
import glob
import importlib.util
import os
import shutil
import signal
import subprocess
from pathlib import Path

from xenha.errors import XenhaError

CACHE = Path("/var/cache/xenha/stacks")
Stack = collections.namedtuple("Stack", "name suite pacemaker python target")
STACKS = {
    s.name: s
    for s in (
        Stack("bullseye", "bullseye", "2.0.5", "3.9", "2.0"),
        Stack("trixie", "trixie", "3.0", "3.13", "3.0"),
    )
}
PACKAGES = (
    "pacemaker",
    "pacemaker-cli-utils",
    "corosync",
    "crmsh",
    "resource-agents",
    "python3",
    "python3-yaml",
    "python3-jinja2",
    "libxml2-utils",
    "python3-pyghmi",  # the lab's IPMI fencing, by xenha's agent under the stack's Python
)
STAMP = ".xenha-stack"
DEPS = "/opt/xenha-deps"  # the XenAPI module, inside a root
BUILD_TIMEOUT = 1800


def path(name):
    return CACHE / name


def _stamp(stack):
    return "%s %s\n" % (stack.suite, " ".join(PACKAGES))


def ready(name):
    """Whether the root ``name`` is built with today's package list."""
    try:
        return (path(name) / STAMP).read_text() == _stamp(STACKS[name])
    except OSError:
        return False


def mirror(sources="/etc/apt/sources.list.d", legacy="/etc/apt/sources.list"):
    """The Debian mirror this machine's apt uses (its main archive, not security), or
    None: debootstrap's own default."""
    for f in sorted(glob.glob(os.path.join(sources, "*.sources"))):
        for stanza in Path(f).read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != "#"
            )
            uri = fields.get("URIs", "").split()
            if uri and "security" not in uri[0] and "debian" in uri[0]:
                return uri[0]
    try:
        for line in Path(legacy).read_text().splitlines():
            words = line.split()
            if words[:1] == ["deb"] and "security" not in line:
                return next(w for w in words[1:] if "://" in w)
    except (OSError, StopIteration):
        pass
    return None


def build(name, progress=print):
    """The root of stack ``name``, built now unless the cache has it (one builder at a
    time: a lock beside it)."""
    stack = STACKS[name]
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / (name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready(name):
            return path(name)
        if shutil.which("debootstrap") is None:
            raise XenhaError("debootstrap is not installed (apt-get install debootstrap)")
        progress("building the %s root (Pacemaker %s), once" % (name, stack.pacemaker))
        work = CACHE / (name + ".building")
        shutil.rmtree(work, ignore_errors=True)
        where = mirror()
        argv = ["debootstrap", "--variant=minbase", stack.suite, str(work)]
        _step(argv + ([where] if where else []), name)
        policy = work / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\n# xenha: no service starts in a build root\nexit 101\n")
        policy.chmod(0o755)
        env = "DEBIAN_FRONTEND=noninteractive"
        install = "apt-get install -y -q --no-install-recommends " + " ".join(PACKAGES)
        _step(_inside(work, ["sh", "-c", "%s %s >/dev/null" % (env, install)]), name)
        _inside_run(work, ["apt-get", "clean"])
        (work / STAMP).write_text(_stamp(stack))
        shutil.rmtree(path(name), ignore_errors=True)
        work.rename(path(name))
    return path(name)


def _step(argv, name):
    """Run one build step in a private mount namespace (debootstrap mounts /proc and /sys
    in the root it makes; they go with the namespace whatever ends the step), in a
    process group of its own that a timeout kills whole."""
    private = [
        "unshare",
        "--mount",
        "--fork",
        "sh",
        "-c",
        'mount --make-rprivate / && exec "$@"',
        "-",
    ]
    proc = subprocess.Popen(
        private + list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise XenhaError(
            "building the %s root: %s did not finish within %d s" % (name, argv[0], BUILD_TIMEOUT)
        ) from None
    if proc.returncode != 0:
        tail = out.decode(errors="replace").strip().splitlines()[-15:]
        raise XenhaError(
            "building the %s root failed (%s, rc %d):\n%s"
            % (name, argv[0], proc.returncode, "\n".join(tail))
        )


def _xenapi_dir():
    spec = importlib.util.find_spec("XenAPI")
    if spec is None or not spec.origin:
        raise XenhaError("the XenAPI module is not installed here")
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def _inside(root, argv, source=None, binds=()):
    """The command line that runs ``argv`` chrooted in ``root``, with /proc and /dev in a
    private mount namespace, and there: ``source`` (a checkout of xenha) and each of
    ``binds`` at their own paths, the XenAPI module under DEPS."""
    mounts = [
        "mount --make-rprivate /",
        'mount -t proc proc "$R/proc"',
        'mount --rbind /dev "$R/dev"',
    ]
    shared = ([source] if source else []) + list(binds)
    for outside in shared:
        mounts += ['mkdir -p "$R%s"' % outside, 'mount --bind "%s" "$R%s"' % (outside, outside)]
    if source:
        mounts += xenapi_mount('"$R"')
    script = "; ".join(mounts) + '; shift; exec chroot "$R" "$@"'
    return ["unshare", "--mount", "--fork", "sh", "-ec", 'R="$0"; ' + script, str(root), "--"] + [
        str(a) for a in argv
    ]


def xenapi_mount(root):
    """Shell lines that mount the XenAPI module under DEPS in ``root`` (a shell word)."""
    xenapi = _xenapi_dir()
    target = "%s%s/%s" % (root, DEPS, xenapi.name)
    if xenapi.is_dir():
        lines = ["mkdir -p %s" % target]
    else:
        lines = ["mkdir -p %s%s" % (root, DEPS), "touch %s" % target]
    return lines + ['mount --bind -o ro "%s" %s' % (xenapi, target)]


def checkout():
    """This checkout of xenha (the directory that holds the package)."""
    import xenha

    return str(Path(xenha.__file__).resolve().parent.parent)


def cluster_ids(name):
    """(uid, gid) of hacluster and haclient in the root ``name`` (None: this machine's)."""
    import grp
    import pwd

    if name is None:
        return pwd.getpwnam("hacluster").pw_uid, grp.getgrnam("haclient").gr_gid
    etc = path(name) / "etc"
    uid = _id_of(etc / "passwd", "hacluster")
    gid = _id_of(etc / "group", "haclient")
    return uid, gid


def _id_of(table, who):
    for line in table.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == who:
            return int(fields[2])
    raise XenhaError("%s has no %s" % (table, who))


LAB_PTH = "usr/lib/python3/dist-packages/xenha-lab.pth"


def prepare_lab(name):
    """Make the root ``name`` run this checkout's agents as a lab host does: their
    launchers (for its /usr/bin/python3, with the lab's test-only agents) where its
    Pacemaker finds them, and xenha and XenAPI on its Python's path (a .pth file: Pacemaker
    runs agents with an environment of its own). They stay in the cached root: the next
    lab's up writes its own."""
    from xenha import install

    root = path(name)
    install.install(str(root), python="/usr/bin/python3", lab=True)
    os.chown(str(root / install.ALERT_STATE_DIR), *cluster_ids(name))  # its hacluster's
    (root / LAB_PTH).write_text("%s\n%s\n" % (checkout(), DEPS))


def _inside_run(root, argv):
    return subprocess.run(_inside(root, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(name, argv, source=None, binds=(), env=None, timeout=120, input=None):
    """Run ``argv`` in the built root ``name`` (``source``: a checkout of xenha to put on
    its Python's path; ``binds``: directories it shares with this machine, at the same
    paths); a CompletedProcess with text output."""
    root = path(name)
    if not ready(name):
        raise XenhaError("the %s root is not built (xenha.lab.stacks.build)" % name)
    full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    if source:
        full_env["PYTHONPATH"] = "%s:%s" % (source, DEPS)
    full_env.update(env or {})
    return subprocess.run(
        ["env", "-i"]
        + ["%s=%s" % kv for kv in sorted(full_env.items())]
        + _inside(root, argv, source, binds),
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=timeout,
    )
