"""`xenha config …` end to end through the installed command (crmsh on a CIB file, no cluster)."""

import os
import subprocess

import pytest

from tests.conftest import REPO

GOLDEN = os.path.join(REPO, "tests", "golden")
TWO = os.path.join(GOLDEN, "two-node-qdevice.yaml")
# The golden descriptions name their pool hosts by node name and no pool answers here:
# keep the names (tests/unit/test_config_identities.py resolves them against a pool).
OFFLINE = "--no-resolve"


def two_node_text():
    with open(TWO) as f:
        return f.read()


def test_init_writes_a_valid_example_and_never_overwrites(xenha, tmp_path):
    path = str(tmp_path / "pool.yaml")
    r = xenha("config", "init", path)
    assert r.returncode == 0, r.stderr
    r = xenha("config", "validate", path)
    assert r.returncode == 0 and "valid: cluster pool1, 2 nodes, quorum qdevice, 2 VMs" in r.stdout
    r = xenha("config", "init", path)
    assert r.returncode == 1 and "exists; use --force" in r.stderr


def test_validate_reports_file_line_and_key_without_traceback(xenha, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(two_node_text().replace("priority: 10", "priority: ten"))
    r = xenha("config", "validate", str(bad))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("xenha: error: %s:23: vms[0].priority: got 'ten'" % bad)


def test_generate_every_format_to_a_file(xenha, tmp_path):
    for fmt, expect in (
        ("crm", "primitive pool-master ocf:xenha:xapi-pool-master"),
        ("xml", '<clone id="pool-master-clone">'),
        ("pcs", "pcs cluster cib-push"),
        ("corosync", "model: net"),
    ):
        out = tmp_path / ("out." + fmt)
        r = xenha("config", "generate", TWO, "--format", fmt, "-o", str(out), OFFLINE)
        assert r.returncode == 0, r.stderr
        assert expect in out.read_text()


def test_verify_prints_the_recovery_story(xenha):
    r = xenha("config", "verify", TWO, OFFLINE)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    i = lines.index("losing xs1 (pool master on xs1):")
    assert lines[i + 1 : i + 4] == [
        "  fence xs1",
        "  promote pool-master on xs2",
        "  start vm-db on xs2",
    ]
    assert "  no VM stopped, started or migrated" in lines


def test_verify_fails_for_a_node_nobody_can_fence(xenha, tmp_path):
    text = two_node_text()
    start = text.index("      fencing:\n        - {device: ilo, ip: 198.18.1.12")
    end = text.index("quorum:")
    desc = tmp_path / "unfenced.yaml"
    desc.write_text(text[:start] + "      allow_no_fencing: true\n" + text[end:])
    r = xenha("config", "verify", str(desc), "--fail", "xs2", OFFLINE)
    assert r.returncode == 1
    assert "PROBLEM: no fence device targets xs2 (pcmk_host_list)" in r.stdout


def test_verify_rejects_an_unknown_node(xenha):
    r = xenha("config", "verify", TWO, "--fail", "xs9")
    assert r.returncode == 1 and "--fail xs9: not a node; expected one of: xs1, xs2" in r.stderr


def test_load_shows_the_diff_then_applies_to_the_cib(xenha, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    env = dict(os.environ, CIB_file=str(cib))
    # Not a terminal and no --yes: show the diff, change nothing.
    r = xenha("config", "load", TWO, OFFLINE, "--force", env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "not applying without --yes" in r.stderr
    assert "+primitive vm-db ocf:xenha:xen-vm" in r.stdout
    assert "pool-master" not in cib.read_text()
    r = xenha("config", "load", TWO, OFFLINE, "--force", "--yes", env=env)
    assert r.returncode == 0, r.stderr
    assert "\napplied\n" in r.stdout and "description stored in the CIB" in r.stdout
    assert '<clone id="pool-master-clone">' in cib.read_text()
    r = xenha("config", "load", TWO, OFFLINE, "--force", "--yes", env=env)
    assert r.stdout.strip() == "the cluster already has this configuration; nothing to do"


def test_load_without_force_reports_what_crmsh_refuses(xenha, tmp_path):
    """With the xenha agents not installed, crmsh cannot check them; the error says so."""
    if os.path.exists("/usr/lib/ocf/resource.d/xenha/xen-vm"):
        pytest.skip("the xenha agents are installed on this machine, so crmsh accepts them")
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    r = xenha("config", "load", TWO, OFFLINE, "--yes", env=dict(os.environ, CIB_file=str(cib)))
    assert r.returncode == 1
    assert "ocf:xenha:xen-vm: got no meta-data" in r.stderr


def test_load_asks_on_a_terminal_and_respects_the_answer(xenha, tmp_path):
    import pty

    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.check_output(["cibadmin", "--empty"], universal_newlines=True))
    env = dict(os.environ, CIB_file=str(cib))
    for answer, applied in (("n", False), ("y", True)):
        master, slave = pty.openpty()
        try:
            os.write(master, (answer + "\n").encode())
            r = xenha("config", "load", TWO, OFFLINE, "--force", env=env, stdin=slave)
        finally:
            os.close(slave)
            os.close(master)
        assert "apply these changes? [y/N]" in r.stdout
        assert r.returncode == (0 if applied else 1), r.stderr
        assert ("pool-master-clone" in cib.read_text()) is applied
