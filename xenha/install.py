"""Put the agents where Pacemaker looks for them, and take them away again.

Every agent is a module with a ``main()`` in the ``ocf_agents``,
``stonith_plugins`` or ``alert_agents`` package. On a node it is run through a three-line launcher
whose interpreter is the Python that has xenha installed, so the agent always
imports the xenha it was installed with. ``install`` writes a manifest of the
files and directories it created; ``uninstall`` removes exactly those (files
only while they still hold what install wrote). Agents for test labs only are
installed only when asked for (``lab=True``); the manifest records whether
they were, and an install without them takes them away again.
"""

import collections
import hashlib
import importlib.util
import json
import os
import pkgutil
import pwd
import stat
import sys

from xenha.errors import XenhaError
from xenha.model.spec import LAB_ONLY_FENCE_DEVICES

OCF_DIR = "usr/lib/ocf/resource.d/xenha"
FENCE_DIR = "usr/sbin"
ALERT_DIR = "usr/lib/xenha"
ALERT_STATE_DIR = "var/lib/xenha/alerts"
# Pacemaker runs alert agents as this user; their state directory belongs to it.
ALERT_USER = "hacluster"
MANIFEST = "var/lib/xenha/install-manifest.json"
BOOT_ROLE = ALERT_DIR + "/xenha-boot-role"  # parks a rebooted pool master: xenha.boot_role
XAPI_DROP_IN = "etc/systemd/system/xapi.service.d/xenha-boot-role.conf"
FOLLOW_UNIT = "etc/systemd/system/xenha-follow.service"  # `xenha vm follow --every`
FOLLOW_EVERY = 30  # seconds between two passes: a flag changed in XenCenter is followed in ~30 s
COMMAND = "usr/bin/xenha"  # a package's command; a pip install has its own console script
# A package's systemd units go where the distribution's do; an admin's install in /etc.
ADMIN_UNITS, PACKAGE_UNITS = "etc/systemd/system/", "usr/lib/systemd/system/"
# Agents for test labs only: `xenha install --lab` puts them in place, a plain install never.
LAB_ONLY_AGENTS = tuple("stonith_plugins.fence_xenha_" + d for d in LAB_ONLY_FENCE_DEVICES)


INSTALLED = "# Installed by `xenha install`; `xenha uninstall` removes it.\n"
PACKAGED = "# Installed by the xenha package.\n"


class Installable:
    """One executable to install: its module, where it goes under the root, and the
    directory (if any) it keeps state in, owned by the user Pacemaker runs it as."""

    mode = 0o755

    def __init__(self, module, relpath, state_dir=None):
        self.module = module
        self.relpath = relpath
        self.state_dir = state_dir

    def launcher(self, python, header=INSTALLED):
        return ("#!{python}\n" + header + "from {module} import main\nmain()\n").format(
            python=python, module=self.module
        )

    def __repr__(self):
        return "%s(%r, %r)" % (type(self).__name__, self.module, self.relpath)


class DropIn(Installable):
    """xapi.service's drop-in that runs ``module``'s launcher before each xapi start
    (the launcher acts once per boot); ``systemctl daemon-reload`` reads it."""

    mode = 0o644

    def __init__(self, module, relpath, launcher_relpath):
        super().__init__(module, relpath)
        self.launcher_relpath = launcher_relpath

    def launcher(self, python, header=INSTALLED):
        return (
            header + "# A pool master that rebooted starts as its own slave until the cluster\n"
            "# says who is master (%s); its failure never stops xapi.\n"
            "[Service]\n"
            "ExecStartPre=-/%s\n"
        ) % (self.module, self.launcher_relpath)


class Unit(Installable):
    """The systemd service that runs ``xenha vm follow --every SECONDS`` (every node runs
    it; only the DC acts: xenha.protection)."""

    mode = 0o644

    def __init__(self, relpath, every):
        super().__init__("xenha.cli.main", relpath)
        self.every = every

    def launcher(self, python, header=INSTALLED):
        return (
            header + "# The cluster follows the pool's choice of protected VMs (their HA flags):\n"
            "# a pass every %(every)d s, acted on by the DC only. systemctl enable --now %(name)s\n"
            "[Unit]\n"
            "Description=xenha: the cluster follows the pool's protected VMs\n"
            "After=pacemaker.service\n"
            "\n"
            "[Service]\n"
            "ExecStart=%(python)s -m %(module)s vm follow --every %(every)d\n"
            "Restart=always\n"
            "RestartSec=10\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n"
        ) % {
            "every": self.every,
            "name": os.path.basename(self.relpath),
            "python": python,
            "module": self.module,
        }


def _modules(package):
    """The agent modules of ``package``, listed from its directory without importing it."""
    path = importlib.util.find_spec(package).submodule_search_locations
    return sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))


def shipped_agents(lab=False):
    """The OCF agents (``xen_vm`` -> ``xen-vm``), fence agents and alert agents
    (``alert_email`` -> ``alert-email``) this xenha ships; the test-only agents
    (LAB_ONLY_AGENTS) too with ``lab``."""
    agents = [
        Installable("ocf_agents." + m, OCF_DIR + "/" + m.replace("_", "-"))
        for m in _modules("ocf_agents")
    ]
    agents += [
        Installable("stonith_plugins." + m, FENCE_DIR + "/" + m)
        for m in _modules("stonith_plugins")
    ]
    agents += [
        Installable("alert_agents." + m, ALERT_DIR + "/" + m.replace("_", "-"), ALERT_STATE_DIR)
        for m in _modules("alert_agents")
    ]
    agents += [
        Installable("xenha.boot_role", BOOT_ROLE),
        DropIn("xenha.boot_role", XAPI_DROP_IN, BOOT_ROLE),
        Unit(FOLLOW_UNIT, FOLLOW_EVERY),
    ]
    return [a for a in agents if lab or a.module not in LAB_ONLY_AGENTS]


def _mode_ok(path, mode):
    try:
        return os.stat(path).st_mode & 0o7777 == mode
    except OSError:
        return False


def _sha(data):
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _load_manifest(root):
    text = _read(os.path.join(root, MANIFEST))
    if text is None:
        return {"files": {}, "dirs": [], "lab": False}
    try:
        data = json.loads(text)
        return {
            "files": dict(data["files"]),
            "dirs": list(data["dirs"]),
            "lab": bool(data.get("lab", False)),
        }
    except (ValueError, KeyError, TypeError):
        raise InstallError(  # noqa: B904 - the cause is the file's content, named here
            "install manifest %s is corrupt; fix or remove it" % os.path.join(root, MANIFEST)
        )


def _save_manifest(root, manifest):
    path = os.path.join(root, MANIFEST)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def _makedirs(root, relpath, created):
    """Create relpath's missing directories, recording each one (outermost first)."""
    missing = []
    path = relpath
    while path and not os.path.isdir(os.path.join(root, path)):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        os.mkdir(os.path.join(root, path), 0o755)
        if path not in created:
            created.append(path)


def _state_owner():
    """``(uid, gid)`` of the alert user, or this process's when the user does not exist."""
    try:
        pw = pwd.getpwnam(ALERT_USER)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return os.geteuid(), os.getegid()


def _state_dir_ok(path):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and stat.S_IMODE(st.st_mode) == 0o700
        and (st.st_uid, st.st_gid) == _state_owner()
    )


class InstallError(XenhaError):
    """Install or uninstall cannot proceed; the message says why."""


Changes = collections.namedtuple("Changes", "written removed")


def install(root="/", python=None, agents=None, lab=False):
    """Install (or refresh) the launchers of ``agents`` (default: ``shipped_agents(lab)``)
    and remove the unchanged ones an earlier install wrote that are no longer among them
    (the test-only agents after an install with ``lab``). Returns the relative paths
    :data:`Changes` (written, removed)."""
    python = python or sys.executable
    agents = shipped_agents(lab) if agents is None else agents
    manifest = _load_manifest(root)
    for relpath in (os.path.dirname(MANIFEST), OCF_DIR, FENCE_DIR):
        _makedirs(root, relpath, manifest["dirs"])
    manifest["lab"] = lab
    removed = _remove_files(root, manifest, keep={a.relpath for a in agents})
    _save_manifest(root, manifest)
    written = []
    for agent in agents:
        _makedirs(root, os.path.dirname(agent.relpath), manifest["dirs"])
        path = os.path.join(root, agent.relpath)
        content = agent.launcher(python)
        current = _read(path)
        if current is not None and agent.relpath not in manifest["files"] and current != content:
            raise InstallError(
                "%s exists and was not installed by xenha; not overwriting it" % path
            )
        if current != content or not _mode_ok(path, agent.mode):
            tmp = path + ".xenha-tmp"
            with open(tmp, "w") as f:
                f.write(content)
            os.chmod(tmp, agent.mode)
            os.rename(tmp, path)
            written.append(agent.relpath)
        manifest["files"][agent.relpath] = _sha(content)
        if agent.state_dir:
            _makedirs(root, agent.state_dir, manifest["dirs"])
            path = os.path.join(root, agent.state_dir)
            if not _state_dir_ok(path):
                try:
                    os.chown(path, *_state_owner())
                except OSError as e:
                    raise InstallError(
                        "cannot give %s to %s: %s (run as root)" % (path, ALERT_USER, e.strerror)
                    ) from None
                os.chmod(path, 0o700)
                written.append(agent.state_dir + "/")
        _save_manifest(root, manifest)
    return Changes(written, removed)


def package(root, python):
    """Write a package's files under ``root`` (rpm's %install into its build root): the
    shipped agents' launchers and the ``xenha`` command, run by ``python``, the systemd
    files in the distribution's unit directory, empty state directories (mode 0700).
    No manifest (the package manager owns the files) and no ownership: the package's
    file list gives the state directory to ALERT_USER. Returns the relative paths."""
    written = []
    for agent in shipped_agents() + [Installable("xenha.cli.main", COMMAND)]:
        content = agent.launcher(python, PACKAGED)
        relpath = agent.relpath
        if relpath.startswith(ADMIN_UNITS):
            relpath = PACKAGE_UNITS + relpath[len(ADMIN_UNITS) :]
        path = os.path.join(root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, agent.mode)
        written.append(relpath)
        if agent.state_dir:
            os.makedirs(os.path.join(root, agent.state_dir), exist_ok=True)
            os.chmod(os.path.join(root, agent.state_dir), 0o700)
            written.append(agent.state_dir + "/")
    return written


def _remove_files(root, manifest, keep=()):
    """Remove the files the manifest records, except ``keep``, while they still hold what
    install wrote; return the removed ones and forget them. A changed one stays recorded."""
    removed = []
    for relpath, sha in sorted(manifest["files"].items()):
        if relpath in keep:
            continue
        current = _read(os.path.join(root, relpath))
        if current is not None and _sha(current) != sha:
            continue
        if current is not None:
            os.remove(os.path.join(root, relpath))
            removed.append(relpath)
        del manifest["files"][relpath]
    return removed


def check(root="/", python=None, agents=None, lab=None):
    """Return ``[(relpath, state)]`` with state ``ok``, ``missing`` or ``stale`` (an agent
    whose state directory is missing or not the alert user's, mode 0700, is stale) for
    ``agents``: default the shipped ones, with the test-only ones if ``lab`` (None: if the
    manifest says the last install had them)."""
    python = python or sys.executable
    if lab is None:
        lab = _load_manifest(root)["lab"]
    agents = shipped_agents(lab) if agents is None else agents
    report = []
    for agent in agents:
        path = os.path.join(root, agent.relpath)
        current = _read(path)
        if current is None:
            state = "missing"
        elif (
            current != agent.launcher(python)
            or not _mode_ok(path, agent.mode)
            or (agent.state_dir and not _state_dir_ok(os.path.join(root, agent.state_dir)))
        ):
            state = "stale"
        else:
            state = "ok"
        report.append((agent.relpath, state))
    return report


def uninstall(root="/"):
    """Remove what install recorded; return ``(removed, kept)`` relative paths.

    A recorded file that was changed since install is kept (and reported), as
    is a recorded directory that is not empty. The alert agents' state (the
    files in a state directory install created) goes with them.
    """
    manifest = _load_manifest(root)
    if ALERT_STATE_DIR in manifest["dirs"]:
        state = os.path.join(root, ALERT_STATE_DIR)
        for name in os.listdir(state) if os.path.isdir(state) else ():
            if os.path.isfile(os.path.join(state, name)):
                os.remove(os.path.join(state, name))
    removed = _remove_files(root, manifest)
    kept = sorted(manifest["files"])
    manifest_path = os.path.join(root, MANIFEST)
    if kept:
        _save_manifest(root, manifest)
    elif os.path.exists(manifest_path):
        os.remove(manifest_path)
    for relpath in reversed(manifest["dirs"]):
        try:
            os.rmdir(os.path.join(root, relpath))
            removed.append(relpath + "/")
        except OSError:
            if os.path.isdir(os.path.join(root, relpath)):
                kept.append(relpath + "/")
    return removed, kept
