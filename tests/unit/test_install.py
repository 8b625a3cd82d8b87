import os
import pwd
import stat

import pytest

from xenha import install as lib


@pytest.fixture
def agents(tmp_path):
    """The shipped agents plus one of each kind, so the round trip is never vacuous."""
    return lib.shipped_agents() + [
        lib.Installable("xenha.cli.main", lib.OCF_DIR + "/probe-agent"),
        lib.Installable("xenha.cli.main", lib.FENCE_DIR + "/fence_probe"),
    ]


def tree(root):
    return sorted(
        os.path.relpath(os.path.join(d, n), str(root))
        for d, dirs, files in os.walk(str(root))
        for n in dirs + files
    )


def test_round_trip_leaves_nothing(tmp_path, agents):
    written = lib.install(str(tmp_path), agents=agents).written
    state_dirs = {a.state_dir + "/" for a in agents if a.state_dir}
    assert sorted(written) == sorted([a.relpath for a in agents] + list(state_dirs))
    for a in agents:  # executables; xapi.service's drop-in and the service are plain files
        mode = os.stat(str(tmp_path / a.relpath)).st_mode
        plain = isinstance(a, (lib.DropIn, lib.Unit))
        assert stat.S_IMODE(mode) == (0o644 if plain else 0o755)
    assert all(s == "ok" for _, s in lib.check(str(tmp_path), agents=agents))
    removed, kept = lib.uninstall(str(tmp_path))
    assert kept == []
    assert tree(tmp_path) == []


def test_reinstall_is_harmless(tmp_path, agents):
    lib.install(str(tmp_path), agents=agents)
    assert lib.install(str(tmp_path), agents=agents) == ([], [])
    lib.uninstall(str(tmp_path))
    assert tree(tmp_path) == []


def test_launcher_runs_the_module_with_this_python(tmp_path, agents):
    lib.install(str(tmp_path), python="/opt/py/bin/python3", agents=agents)
    text = (tmp_path / agents[-1].relpath).read_text()
    assert text.startswith("#!/opt/py/bin/python3\n")
    assert "from xenha.cli.main import main\nmain()\n" in text


def test_check_reports_missing_and_stale(tmp_path, agents):
    lib.install(str(tmp_path), agents=agents)
    os.remove(str(tmp_path / agents[-1].relpath))
    (tmp_path / agents[-2].relpath).write_text("#!/bin/sh\n")
    states = dict(lib.check(str(tmp_path), agents=agents))
    assert states[agents[-1].relpath] == "missing"
    assert states[agents[-2].relpath] == "stale"
    lib.install(str(tmp_path), agents=agents)
    assert all(s == "ok" for _, s in lib.check(str(tmp_path), agents=agents))


def test_foreign_file_is_never_overwritten(tmp_path, agents):
    target = tmp_path / lib.FENCE_DIR / "fence_probe"
    target.parent.mkdir(parents=True)
    target.write_text("someone else's\n")
    with pytest.raises(lib.InstallError, match="not installed by xenha"):
        lib.install(str(tmp_path), agents=agents)
    assert target.read_text() == "someone else's\n"


def test_uninstall_keeps_edited_files_and_existing_dirs(tmp_path, agents):
    (tmp_path / "usr" / "sbin").mkdir(parents=True)
    (tmp_path / "usr" / "sbin" / "sshd").write_text("not ours\n")
    lib.install(str(tmp_path), agents=agents)
    edited = tmp_path / agents[-2].relpath
    edited.write_text("locally edited\n")
    removed, kept = lib.uninstall(str(tmp_path))
    assert agents[-2].relpath in kept
    assert edited.read_text() == "locally edited\n"
    assert (tmp_path / "usr" / "sbin" / "sshd").read_text() == "not ours\n"
    assert not (tmp_path / lib.OCF_DIR).exists() or agents[-2].relpath.startswith(lib.OCF_DIR)


def test_corrupt_manifest_is_a_clear_error(tmp_path, agents):
    lib.install(str(tmp_path), agents=agents)
    (tmp_path / lib.MANIFEST).write_text("{not json")
    with pytest.raises(lib.InstallError, match="corrupt"):
        lib.uninstall(str(tmp_path))


def test_alert_agent_and_its_state_directory(tmp_path):
    """alert-email goes to /usr/lib/xenha; its state directory belongs to hacluster, 0700;
    a wrong mode is stale and repaired; uninstall takes the recorded state with it."""
    [alert] = [a for a in lib.shipped_agents() if a.state_dir]
    assert alert.relpath == lib.ALERT_DIR + "/alert-email"
    lib.install(str(tmp_path))
    state = tmp_path / lib.ALERT_STATE_DIR
    st = os.stat(str(state))
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == pwd.getpwnam(lib.ALERT_USER).pw_uid
    os.chmod(str(state), 0o755)
    assert dict(lib.check(str(tmp_path)))[alert.relpath] == "stale"
    assert lib.install(str(tmp_path)).written == [lib.ALERT_STATE_DIR + "/"]
    assert dict(lib.check(str(tmp_path)))[alert.relpath] == "ok"
    (state / "0123abcd").write_text("node|xs1||lost|ops@example.com\n")
    removed, kept = lib.uninstall(str(tmp_path))
    assert kept == [] and tree(tmp_path) == []


SSH = lib.FENCE_DIR + "/fence_xenha_ssh"


def test_test_only_agents_are_installed_for_a_lab_only(tmp_path):
    """fence_xenha_ssh is for test labs: only `install --lab` puts it in place, --check and
    uninstall follow what the manifest says was installed, and a plain install removes it."""
    root = str(tmp_path)
    assert lib.LAB_ONLY_AGENTS == ("stonith_plugins.fence_xenha_ssh",)
    assert SSH not in [a.relpath for a in lib.shipped_agents()]
    assert SSH in [a.relpath for a in lib.shipped_agents(lab=True)]
    lib.install(root)
    assert not (tmp_path / SSH).exists()
    assert SSH not in dict(lib.check(root))
    assert lib.install(root, lab=True).written == [SSH]
    assert dict(lib.check(root))[SSH] == "ok"  # the manifest says: a lab install
    assert dict(lib.check(root, lab=False)).get(SSH) is None
    assert lib.install(root) == ([], [SSH])
    assert not (tmp_path / SSH).exists() and SSH not in dict(lib.check(root))
    lib.install(root, lab=True)
    lib.uninstall(root)
    assert tree(tmp_path) == []


def test_install_lab_option(xenha, tmp_path):
    root = str(tmp_path)
    r = xenha("install", "--root", root, "--lab")
    assert r.returncode == 0 and "installed %s" % os.path.join(root, SSH) in r.stdout, r.stdout
    r = xenha("install", "--root", root, "--check")
    assert r.returncode == 0 and "ok       %s" % os.path.join(root, SSH) in r.stdout, r.stdout
    r = xenha("install", "--root", root)
    assert r.returncode == 0 and r.stdout.startswith("removed %s\n" % os.path.join(root, SSH))
    r = xenha("install", "--root", root, "--check", "--lab")
    assert r.returncode == 1 and "missing  %s" % os.path.join(root, SSH) in r.stdout, r.stdout


def test_a_package_build_root_has_no_manifest_and_the_units_in_usr(xenha, tmp_path):
    r = xenha("install", "--package", "--python", "/usr/bin/python3")
    assert r.returncode == 1 and "give --root" in r.stderr and "Traceback" not in r.stderr
    r = xenha("install", "--package", "--root", str(tmp_path), "--python", "/usr/bin/python3")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / lib.MANIFEST).exists()
    assert (tmp_path / "usr/lib/systemd/system/xenha-follow.service").is_file()
    assert not (tmp_path / "etc").exists()
    command = (tmp_path / lib.COMMAND).read_text()
    assert command.startswith("#!/usr/bin/python3\n# Installed by the xenha package.\n")


def test_xapi_runs_the_boot_role_first_and_starts_even_if_it_fails(tmp_path):
    """xapi.service's drop-in runs xenha-boot-role before every xapi start ("-": its
    failure never keeps xapi down); the launcher itself acts once per boot."""
    lib.install(str(tmp_path))
    drop_in = (tmp_path / lib.XAPI_DROP_IN).read_text()
    assert "[Service]\nExecStartPre=-/%s\n" % lib.BOOT_ROLE in drop_in
    launcher = (tmp_path / lib.BOOT_ROLE).read_text()
    assert "from xenha.boot_role import main\nmain()\n" in launcher
    lib.uninstall(str(tmp_path))
    assert tree(tmp_path) == []
