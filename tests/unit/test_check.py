"""`xenha check`: each preflight rule on what it reads (a /proc tree, the CIB, secret
files, corosync's words, the pool through the simulator with a host's clock off), the
verdict, the text at 80 columns and the JSON against its schema."""

import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.conftest import run_xenha
from xenha import check, status
from xenha.errors import XenhaError
from xenha.lab.pool.testing import running_pool
from xenha.status import CRITICAL, OK, WARNING


def levels(findings):
    return [f.level for f in findings]


def proc_tree(tmp_path, *cmdlines):
    for pid, argv in enumerate(cmdlines, 100):
        d = tmp_path / str(pid)
        d.mkdir(parents=True)
        (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (tmp_path / "self").mkdir(parents=True)
    return str(tmp_path)


def test_ha_lizard_or_iscsi_ha_at_work_is_critical(tmp_path):
    clean = proc_tree(tmp_path / "a", ["/usr/sbin/xapi"], ["bash", "/usr/lib/xenha/x"])
    assert levels(check.rivals(clean, lambda unit: False)) == [OK]
    running = proc_tree(tmp_path / "b", ["/bin/bash", "/etc/ha-lizard/scripts/ha-lizard.sh"])
    (finding,) = check.rivals(running, lambda unit: False)
    assert finding.level == CRITICAL and "ha-lizard.sh" in finding.what
    (finding,) = check.rivals(clean, lambda unit: unit == "iscsi-ha-watchdog")
    assert finding.level == CRITICAL
    assert finding.what.startswith("service iscsi-ha-watchdog is active")


def test_xenservers_own_pool_ha_is_critical():
    assert levels(check.pool_ha(True)) == [CRITICAL]
    assert levels(check.pool_ha(False)) == [OK]


def cib(*nvpairs):
    prim = "".join('<nvpair name="%s" value="%s"/>' % nv for nv in nvpairs)
    return ET.fromstring(
        '<cib><configuration><resources><primitive id="fence-a">%s</primitive>'
        "</resources></configuration></cib>" % prim
    )


def test_secret_files_must_be_closed_to_others_and_none_inline(tmp_path):
    good, loose = tmp_path / "good", tmp_path / "loose"
    for path, mode in ((good, 0o600), (loose, 0o644)):
        path.write_text("s3cret\n")
        path.chmod(mode)
    assert levels(check.secrets(cib(("password_file", str(good))))) == [OK]
    (finding,) = check.secrets(cib(("password_file", str(loose))))
    assert finding.level == CRITICAL and "chmod 600" in finding.what
    (finding,) = check.secrets(cib(("xapi_password_file", str(tmp_path / "gone"))))
    assert finding.level == CRITICAL and "No such file" in finding.what
    (finding,) = check.secrets(cib(("password", "hunter2")))
    assert finding.what == "fence-a password: a secret written into the CIB"
    assert "hunter2" not in finding.what
    group = tmp_path / "smtp"
    group.write_text("x\n")
    group.chmod(0o640)
    assert levels(check.secrets(cib(("smtp_password_file", str(group))))) == [OK]


QUORUM = {"total": 3, "quorum": 2, "votes": {"a": 1, "b": 1, "Qdevice": 1}}


def test_a_quorum_arbiter_must_be_connected():
    plain = {"total": 3, "quorum": 2, "votes": {"a": 1, "b": 1, "c": 1}}
    assert levels(check.arbiter(plain, XenhaError("no qdevice"))) == [OK]
    assert levels(check.arbiter(QUORUM, "Qdevice information\nState:\t\tConnected\n")) == [OK]
    (finding,) = check.arbiter(QUORUM, "State:\t\tConnect failed\n")
    assert finding.level == CRITICAL and "Connect failed" in finding.what
    assert levels(check.arbiter(XenhaError("no corosync"), "")) == [CRITICAL]


def test_every_hosts_clock_is_read_through_xapi_and_one_off_is_critical():
    with running_pool(hosts=3, vms=1) as sim:
        sim.set_clock_offset("host2", 5)
        params = {
            "xapi_url": sim.master.url,
            "xapi_password_file": sim.password_file,
            "xapi_ca_file": sim.ca_file,
        }
        ha, readings = check._read_pool(params)
    assert ha is False
    findings = check.clocks(readings)
    assert [(f.level, f.check) for f in findings] == [(CRITICAL, "clock host2")]
    assert findings[0].what[:4] in ("+4 s", "+5 s")
    assert levels(check.clocks({"host1": XenhaError("HOST_OFFLINE")})) == [WARNING]
    # Whole seconds and the time the call took: only a skew surely beyond 1 s counts.
    assert levels(check.clocks({"host1": (100.9, 100, 103.0)})) == [OK]
    assert levels(check.clocks({"host1": (100.0, 103, 100.5)})) == [CRITICAL]
    assert levels(check.clocks({"host1": (100.0, 97, 100.5)})) == [CRITICAL]


def test_every_node_must_run_this_xenha():
    assert levels(check.versions({"a": "1.0", "b": "1.0"}, "1.0")) == [OK]
    (finding,) = check.versions({"a": "1.0", "b": "0.9"}, "1.0")
    assert finding.level == CRITICAL and finding.what == "runs 0.9, this node 1.0"
    assert levels(check.versions({"a": None}, "1.0")) == [WARNING]


@pytest.mark.parametrize(
    "pacemaker, corosync, expected",
    [
        ("Pacemaker 2.1.5\nWritten by Andrew Beekhof", "version '3.1.7'", [OK, OK]),
        ("Pacemaker 3.0.0", "Corosync Cluster Engine, version '3.1.9'", [OK, OK]),
        ("Pacemaker 1.1.23", "version '3.1.7'", [WARNING, OK]),  # the generator's 1.1 target
        ("Pacemaker 1.0.13", "version '3.1.7'", [CRITICAL, OK]),
        ("Pacemaker 2.0.3", "version '3.0.3'", [WARNING, OK]),  # no priority-fencing-delay
        ("Pacemaker 2.0.5", "version '3.1.2'", [OK, OK]),
        ("Pacemaker 3.1.0", "version '2.4.5'", [WARNING, WARNING]),
        ("Pacemaker 2.1.5", "version '2.3.6'", [OK, CRITICAL]),
        (XenhaError("pacemakerd is not installed"), "version '3.1.7'", [CRITICAL, OK]),
    ],
)
def test_the_stack_is_one_xenha_supports(pacemaker, corosync, expected):
    assert levels(check.stack(pacemaker, corosync, (3, 11, 2))) == expected
    assert levels(check.stack("Pacemaker 2.1.5", "version '3.1.7'", (3, 5, 0)))[-1] == CRITICAL


def test_the_verdict_text_and_json():
    findings = [
        check.Finding(OK, "clocks", "fine"),
        check.Finding(WARNING, "xenha b", "not told " * 20),
    ]
    assert check.exit_code(findings) == WARNING
    text = check.render(findings)
    assert text.splitlines()[0].startswith("WARNING  xenha b")
    assert text.splitlines()[-1] == "xenha check: WARNING"
    assert max(len(line) for line in text.splitlines()) <= 80
    jsonschema.validate(check.as_data(findings), check.SCHEMA)


def test_the_command_without_a_cluster_says_it_cannot_tell_and_exits_2():
    env = dict(os.environ, PATH="/nonexistent")
    r = run_xenha("check", "--json", env=env)
    assert r.returncode == 2, r
    data = json.loads(r.stdout)
    jsonschema.validate(data, check.SCHEMA)
    assert {"level": "critical", "check": "cluster"}.items() <= data["checks"][-1].items()
    assert "Traceback" not in r.stderr
    assert run_xenha("check", "--help").returncode == 0
    assert status.VERDICTS[CRITICAL] == data["verdict"]
