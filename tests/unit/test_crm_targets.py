"""The configuration for each Pacemaker target (cluster.pacemaker, --pacemaker): golden
outputs, each CIB valid against its release's schema (Debian's pacemaker ships the older
ones; 3.0's pacemaker-4.0 and the 2.0.5 and 3.0.0 tools themselves: test_stacks.py).

Regenerate the golden files with ``XENHA_UPDATE_GOLDEN=1`` and review the diff.
"""

import os
import subprocess

import pytest

from tests.conftest import REPO, run_xenha
from xenha import model
from xenha.crm import render, targets

GOLDEN = os.path.join(REPO, "tests", "golden", "targets")
CASE = os.path.join(GOLDEN, "two-node.yaml")
SUFFIX = {"crm": ".crm", "xml": ".xml", "pcs": ".pcs.sh", "corosync": ".corosync.conf"}
SCHEMAS = "/usr/share/pacemaker/"


def rendered(target, fmt):
    desc = model.load(CASE)
    desc["cluster"]["pacemaker"] = target
    return render.render(desc, fmt, "two-node.yaml")


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("target", targets.NAMES)
def test_output_matches_golden(target, fmt):
    path = os.path.join(GOLDEN, "two-node.%s%s" % (target, SUFFIX[fmt]))
    text = rendered(target, fmt)
    if os.environ.get("XENHA_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), "regenerate with XENHA_UPDATE_GOLDEN=1 and review the diff"


@pytest.mark.parametrize("target", [t for t in targets.NAMES if t != "3.0"])
def test_the_cib_validates_against_its_releases_schema(target, tmp_path):
    schema = targets.TARGETS[target].schema
    cib = tmp_path / "cib.xml"
    cib.write_text(rendered(target, "xml"))
    assert ('validate-with="%s"' % schema) in cib.read_text()
    r = subprocess.run(
        ["xmllint", "--noout", "--relaxng", SCHEMAS + schema + ".rng", str(cib)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )
    assert r.returncode == 0, r.stdout


def test_roles_resource_kinds_and_the_fence_race_per_target():
    by = {t: {fmt: rendered(t, fmt) for fmt in SUFFIX} for t in targets.NAMES}
    for t in ("2.1", "3.0"):
        assert "role=Promoted" in by[t]["crm"] and "role=Master" not in by[t]["crm"]
        assert "priority-fencing-delay=15s" in by[t]["crm"]
    for t in ("1.1", "2.0"):
        assert "role=Master" in by[t]["crm"] and "Promoted" not in by[t]["crm"]
        assert "$role=Master" in by[t]["crm"]  # the connectivity rule too
    assert "priority-fencing-delay=15s" in by["2.0"]["crm"]
    legacy = by["1.1"]
    assert "ms pool-master-clone pool-master" in legacy["crm"] and "promotable" not in legacy["crm"]
    assert "master-max=1 master-node-max=1" in legacy["crm"]
    assert '<master id="pool-master-clone">' in legacy["xml"]
    assert "resource master pool-master-clone pool-master" in legacy["pcs"]
    assert "resource defaults resource-stickiness" in legacy["pcs"]
    # No priority-fencing-delay: its stated equivalent, a fixed delay fencing the first node.
    assert "priority-fencing-delay=" not in legacy["crm"]
    fence = [line for line in legacy["crm"].splitlines() if "pcmk_host_list=" in line]
    assert "pcmk_delay_base=15s" in fence[0] and "pcmk_host_list=xs1" in fence[0]
    # 1.1's fencer leaves the delay out of the time it waits for the device: added here.
    assert "pcmk_off_timeout=105s pcmk_reboot_timeout=105s" in fence[0]
    assert "pcmk_delay_base" not in fence[1]
    assert "has no priority-fencing-delay: fencing xs1 waits 15s" in legacy["crm"]
    # Corosync 2: udpu, no knet link timings.
    assert "transport: udpu" in legacy["corosync"] and "knet_" not in legacy["corosync"]
    assert "logfile: /var/log/cluster/corosync.log" in legacy["corosync"]  # el7's
    assert "transport: knet" in by["2.0"]["corosync"]


def test_the_target_of_a_pacemaker_version():
    assert targets.of_version("Pacemaker 1.1.23-1.el7_9.1") == "1.1"
    assert targets.of_version("Pacemaker 2.0.5 (Build: ba59be7122)") == "2.0"
    assert targets.of_version("Pacemaker 2.1.5 (Build: a3f44794f94)") == "2.1"
    assert targets.of_version("Pacemaker 3.0.0 (Build: 3.0.0)") == "3.0"
    assert targets.of_version("") is None
    assert targets.machine() == "2.1"  # this machine: Debian 12's Pacemaker 2.1.5


def test_a_bad_target_and_a_newer_one_than_this_machines_are_clear_errors(tmp_path):
    desc = tmp_path / "pool.yaml"
    with open(CASE) as f:
        desc.write_text(f.read().replace("  name: pair\n", "  name: pair\n  pacemaker: 1.0\n"))
    r = run_xenha("config", "generate", str(desc), "--no-resolve")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cluster.pacemaker" in r.stderr and "1.1, 2.0, 2.1, 3.0" in r.stderr
    r = run_xenha("config", "verify", CASE, "--no-resolve", "--pacemaker", "3.0")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "this machine's tools are 2.1's" in r.stderr
    r = run_xenha("config", "verify", CASE, "--no-resolve", "--pacemaker", "2.0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verified: fence before promotion" in r.stdout
