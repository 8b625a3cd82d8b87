"""`xenha fence test` (xenha.fence_drill): the levels read from a CIB the generator wrote,
each device asked for the node's power state through fake fence agents that record what
they were given and answer as a test says; the verdict and its exit codes, the JSON
against its schema, the text within 80 columns. And `xenha fence history`."""

import json
import os
import stat
import time
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.conftest import REPO, run_xenha
from tests.unit.test_ocf_pacemaker import HISTORY
from xenha import fence_drill, model, pacemaker
from xenha.cli.main import main
from xenha.crm import render

DESCRIPTION = """\
cluster:
  name: drill
  nodes:
    - name: host1
      address: 198.18.0.11
      fencing:
        - {device: ilo, ip: 198.18.4.11, username: fence, password_file: /etc/xenha/ilo.secret,
           method: ipmi}
    - name: host2
      address: 198.18.0.12
      fencing:
        - {device: ilo, ip: 198.18.4.12, username: fence, password_file: /etc/xenha/ilo.secret,
           method: ipmi}
        - {device: apc, ip: 198.18.4.100, plug: "2", password_file: /etc/xenha/pdu.community,
           snmp_version: "2c"}
        - {device: meatware}
    - name: host3
      address: 198.18.0.13
      allow_no_fencing: true
    - name: host4
      address: 198.18.0.14
      fencing: [{device: meatware}]
vms: [c3c3c3c3-0000-4000-8000-000000000001]
"""
CIB = render.render(model.loads(DESCRIPTION), "xml")
MEMBERS = {"host1", "host2", "host3", "host4"}
AGENTS = ("fence_xenha_ilo", "fence_xenha_apc", "fence_xenha_meatware")

ON = 'echo "Status: ON"; exit 0'
OFF = 'echo "Status: OFF"; exit 2'
UNREACHABLE = 'echo "$(basename $0): error: no answer from the device (timed out)" >&2; exit 1'
HANG = "exec sleep 30"

# A fence agent as the fencer runs it: key=value lines on stdin, recorded one call after
# the other; what it answers is the shell text of $0.does.
FAKE = """#!/bin/sh
cat >> "$0.stdin"
echo "--" >> "$0.stdin"
. "$0.does"
"""


def executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


class Agents:
    """Fake fence agents in a directory of their own (the drill's agent_dir)."""

    def __init__(self, path):
        self.dir = str(path)
        for name in AGENTS:
            executable(path / name, FAKE)
            self.answer(name, ON)

    def answer(self, name, shell):
        with open(os.path.join(self.dir, name + ".does"), "w") as f:
            f.write(shell + "\n")

    def calls(self, name):
        """Each call's stdin lines."""
        try:
            with open(os.path.join(self.dir, name + ".stdin")) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return [block.strip().splitlines() for block in text.split("--\n") if block.strip()]


@pytest.fixture
def agents(tmp_path, monkeypatch):
    """The fake agents, and a PATH without /usr/sbin (where a lab may have installed the
    real ones). Afterwards: no agent was ever asked anything but status."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", "%s:/usr/bin:/bin" % bin_dir)
    a = Agents(tmp_path)
    a.bin = bin_dir
    yield a
    for name in AGENTS:
        for lines in a.calls(name):
            actions = [x for x in lines if x.split("=")[0] in ("action", "option")]
            assert actions == ["action=status"] and lines[-1] == "action=status", lines


def drill(agents, node, cib=CIB, members=MEMBERS, **kw):
    """probe() with the fake agents; its JSON checked against the schema, its text width."""
    result = fence_drill.probe(node, cib, agent_dir=agents.dir, members=members, **kw)
    jsonschema.validate(json.loads(json.dumps(result)), fence_drill.SCHEMA)
    text = fence_drill.render(result)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    return result


def verdicts(result):
    return [lv["verdict"] for lv in result["levels"]]


def device(result, rid):
    return next(d for lv in result["levels"] for d in lv["devices"] if d["id"] == rid)


def edited(edit, cib=CIB):
    root = ET.fromstring(cib)
    edit(root)
    return ET.tostring(root, encoding="unicode")


def add_params(rid, **params):
    """An edit that sets ``params`` of the primitive ``rid``."""

    def edit(root):
        prim = next(p for p in root.iter("primitive") if p.get("id") == rid)
        attrs = prim.find("instance_attributes")
        for name, value in params.items():
            nv = next((nv for nv in attrs if nv.get("name") == name), None)
            if nv is None:
                nv = ET.SubElement(attrs, "nvpair", id="%s-%s" % (rid, name), name=name)
            nv.set("value", value)

    return edit


def no_topology(root):
    conf = root.find("configuration")
    conf.remove(conf.find("fencing-topology"))


# -- the levels -------------------------------------------------------------------------


def test_the_levels_are_the_generated_topology_with_the_agents_parameters():
    levels = fence_drill.levels_for(ET.fromstring(CIB), "host2")
    assert [[d["id"] for d in lv] for lv in levels] == [
        ["fence-host2-ilo"],
        ["fence-host2-apc"],
        ["fence-host2-meatware"],
    ]
    ilo, apc, person = (lv[0] for lv in levels)
    assert ilo["agent"] == "fence_xenha_ilo" and ilo["level"] == 1
    assert ilo["params"] == {
        "ip": "198.18.4.12",
        "username": "fence",
        "password_file": "/etc/xenha/ilo.secret",
        "method": "ipmi",
    }
    assert (ilo["host_argument"], ilo["plug"], ilo["plug_from"]) == ("plug", "host2", "node name")
    assert (apc["plug"], apc["plug_from"], apc["params"]["plug"]) == ("2", "cib", "2")
    # The generator says pcmk_host_argument=plug beside a device's own plug; a CIB
    # written by hand without it gets the note.
    assert ilo["warning"] is None and apc["warning"] is None
    by_hand = CIB.replace('name="pcmk_host_argument" value="plug"', 'name="x" value="y"', 1)
    assert by_hand != CIB
    (apc,) = fence_drill.levels_for(ET.fromstring(by_hand), "host2")[1]
    assert "sets plug=2 without pcmk_host_argument" in apc["warning"]
    assert "also sends port=host2" in apc["warning"]
    assert not any(k.startswith("pcmk_") for k in person["params"])
    assert fence_drill.levels_for(ET.fromstring(CIB), "host3") == []


def test_an_exact_target_wins_over_a_pattern_and_an_attribute():
    def topology(root):
        no_topology(root)
        topo = ET.SubElement(root.find("configuration"), "fencing-topology")
        ET.SubElement(topo, "fencing-level", id="p", index="1", devices="fence-host2-apc")
        topo[-1].set("target-pattern", "^host[0-9]$")
        ET.SubElement(topo, "fencing-level", id="a1", index="1", devices="fence-host2-ilo")
        topo[-1].attrib.update({"target-attribute": "rack", "target-value": "r2"})
        ET.SubElement(topo, "fencing-level", id="a2", index="2", devices="fence-host2-apc")
        topo[-1].attrib.update({"target-attribute": "rack", "target-value": "r2"})
        ET.SubElement(topo, "fencing-level", id="t", target="host1", index="2",
                      devices="fence-host1-ilo")  # fmt: skip
        nodes = root.find("configuration/nodes")
        n = ET.SubElement(nodes, "node", id="4", uname="host4")
        attrs = ET.SubElement(n, "instance_attributes", id="n4")
        ET.SubElement(attrs, "nvpair", id="n4-rack", name="rack", value="r2")

    root = ET.fromstring(edited(topology))
    ids = [[d["id"] for d in lv] for lv in fence_drill.levels_for(root, "host2")]
    assert ids == [["fence-host2-apc"]]  # the pattern comes first in the CIB
    assert [lv[0]["level"] for lv in fence_drill.levels_for(root, "host1")] == [2]
    ids = [[d["id"] for d in lv] for lv in fence_drill.levels_for(root, "host4")]
    assert ids == [["fence-host2-apc"]]  # pattern before attribute, in CIB order
    assert fence_drill.levels_for(root, "other") == []


def test_the_host_map_as_pacemaker_reads_it():
    assert fence_drill.parse_host_map("node1:1;node2:2,3 Node3=4\tn\\:5:6") == {
        "node1": "1",
        "node2": "2,3",
        "node3": "4",
        "n:5": "6",
    }
    assert fence_drill.parse_host_map("") == {}


# -- the verdict ------------------------------------------------------------------------


def test_level_1_fails_level_2_works_so_the_fence_degrades(agents):
    agents.answer("fence_xenha_ilo", UNREACHABLE)
    result = drill(agents, "host2")
    assert verdicts(result) == ["fails", "works", "manual"]
    assert fence_drill.exit_code(result) == 1 and result["verdict"] == "degraded"
    assert result["summary"] == "level 1 fails: fencing host2 would fall back to level 2"
    ilo = device(result, "fence-host2-ilo")
    assert not ilo["ok"] and ilo["exit_code"] == 1 and ilo["state"] is None
    assert "no answer from the device" in ilo["message"]
    apc = device(result, "fence-host2-apc")
    assert (apc["ok"], apc["state"]) == (True, "on")
    text = fence_drill.render(result)
    assert "fencing-topology level 1: FAILS" in text and "level 2: WORKS" in text


def test_every_level_works_and_the_person_is_manual_never_run(agents):
    result = drill(agents, "host2")
    assert verdicts(result) == ["works", "works", "manual"]
    assert fence_drill.exit_code(result) == 0
    person = device(result, "fence-host2-meatware")
    assert person["manual"] and not person["ok"] and "no probe possible" in person["message"]
    assert agents.calls("fence_xenha_meatware") == []
    assert "manual: manual: a person" not in fence_drill.render(result)


def test_no_level_works(agents):
    agents.answer("fence_xenha_ilo", UNREACHABLE)
    agents.answer("fence_xenha_apc", UNREACHABLE)
    result = drill(agents, "host2")
    assert verdicts(result) == ["fails", "fails", "manual"]
    assert fence_drill.exit_code(result) == 2
    assert result["summary"] == "no level works: fencing host2 would fail now"
    only_a_person = drill(agents, "host4")
    assert fence_drill.exit_code(only_a_person) == 2
    assert "every level needs a person" in only_a_person["summary"]


def test_a_node_without_a_fence_device_cannot_be_fenced(agents):
    for node in ("host3", "no-such-node"):
        result = drill(agents, node)
        assert result["levels"] == [] and fence_drill.exit_code(result) == 2
        assert "no fence device can fence %s" % node in result["summary"]


def test_off_for_a_member_names_the_plug_mapping(agents):
    agents.answer("fence_xenha_apc", OFF)
    result = drill(agents, "host2")
    apc = device(result, "fence-host2-apc")
    assert (apc["ok"], apc["state"]) == (False, "off")
    assert "host2 is a cluster member now" in apc["message"]
    assert "plug/port mapping (plug=2, from cib) is probably wrong" in apc["message"]
    assert fence_drill.exit_code(result) == 1
    lost = drill(agents, "host2", members=MEMBERS - {"host2"})
    assert device(lost, "fence-host2-apc")["ok"] and fence_drill.exit_code(lost) == 0


def test_the_host_map_entry_is_passed_as_the_plug_without_a_topology(agents):
    def pdu(root):
        no_topology(root)
        resources = root.find("configuration/resources")
        prim = ET.SubElement(resources, "primitive", id="pdu", type="fence_xenha_apc")
        prim.set("class", "stonith")
        attrs = ET.SubElement(prim, "instance_attributes", id="pdu-ia")
        for name, value in (("ip", "198.18.4.200"), ("pcmk_host_map", "host1:1;host2:2,3")):
            ET.SubElement(attrs, "nvpair", id="pdu-" + name, name=name, value=value)

    result = drill(agents, "host2", edited(pdu))
    assert not result["topology"]
    # Without a topology the fencer tries each capable device until one succeeds.
    ids = [[d["id"] for d in lv["devices"]] for lv in result["levels"]]
    assert ids == [["fence-host2-ilo"], ["fence-host2-apc"], ["fence-host2-meatware"], ["pdu"]]
    assert "alternative 4: WORKS" in fence_drill.render(result)
    mapped = device(result, "pdu")
    assert (mapped["plug"], mapped["plug_from"]) == ("2,3", "pcmk_host_map")
    pdu_call = [c for c in agents.calls("fence_xenha_apc") if "ip=198.18.4.200" in c]
    assert pdu_call == [["ip=198.18.4.200", "nodename=host2", "plug=2,3", "action=status"]]
    ilo_call = agents.calls("fence_xenha_ilo")[-1]
    assert "plug=host2" in ilo_call and "nodename=host2" in ilo_call


def disable(rid):
    def edit(root):
        prim = next(p for p in root.iter("primitive") if p.get("id") == rid)
        meta = ET.SubElement(prim, "meta_attributes", id=rid + "-meta")
        ET.SubElement(meta, "nvpair", id=rid + "-role", name="target-role", value="Stopped")

    return edit


def test_a_disabled_device_fails_its_level_or_is_left_out_without_a_topology(agents):
    cib = edited(disable("fence-host2-apc"))
    result = drill(agents, "host2", cib)
    assert verdicts(result) == ["works", "fails", "manual"]
    assert device(result, "fence-host2-apc")["message"].startswith("disabled (target-role")
    assert agents.calls("fence_xenha_apc") == []

    def unlisted(root):
        no_topology(root)
        prim = next(p for p in root.iter("primitive") if p.get("id") == "fence-host2-ilo")
        attrs = prim.find("instance_attributes")
        attrs.remove(next(nv for nv in attrs if nv.get("name") == "pcmk_host_list"))

    result = drill(agents, "host2", edited(unlisted, cib))
    ids = [lv["devices"][0]["id"] for lv in result["levels"]]
    assert ids == ["fence-host2-meatware"] and fence_drill.exit_code(result) == 2
    assert any(n.startswith("fence-host2-apc could fence host2 but is disabled") for n in
               result["notes"])  # fmt: skip
    assert any("fence-host2-ilo sets neither pcmk_host_list" in n for n in result["notes"])
    assert not any("fence-host1-ilo" in n for n in result["notes"])


def test_only_status_is_ever_sent(agents):
    """An action or option set in the CIB never reaches the agent, nor pcmk_* settings."""
    cib = edited(add_params("fence-host2-ilo", action="off", option="reboot", port="dynamic"))
    cib = edited(add_params("fence-host2-apc", pcmk_off_action="reboot"), cib)
    drill(agents, "host2", cib)
    (ilo,) = agents.calls("fence_xenha_ilo")
    assert ilo == [
        "ip=198.18.4.12",
        "method=ipmi",
        "password_file=/etc/xenha/ilo.secret",
        "username=fence",
        "nodename=host2",
        "plug=host2",
        "action=status",
    ]
    (apc,) = agents.calls("fence_xenha_apc")
    assert not any(line.startswith("pcmk_") for line in apc)
    # The fixture checks, after every test, that every call asked for status only.


def test_a_hanging_agent_is_killed_at_the_timeout(agents):
    agents.answer("fence_xenha_ilo", HANG)
    started = time.monotonic()
    result = drill(agents, "host2", timeout=0.5)
    assert time.monotonic() - started < 5
    ilo = device(result, "fence-host2-ilo")
    assert not ilo["ok"] and ilo["message"] == (
        "no answer to status within 0.5s (the agent was killed)"
    )
    assert fence_drill.exit_code(result) == 1


def test_secrets_are_never_printed(agents):
    """An inline password (a hand-written CIB may hold one) reaches the agent, but neither
    the result nor the text shows it, even when the agent echoes it on stderr."""
    secret = "S3cr3t-inline-pw"
    cib = edited(add_params("fence-host2-ilo", password=secret, community=secret + "2"))
    agents.answer("fence_xenha_ilo", 'echo "got: $(cat $0.stdin)" >&2; exit 1')
    result = drill(agents, "host2", cib)
    assert "password=" + secret in agents.calls("fence_xenha_ilo")[0]
    ilo = device(result, "fence-host2-ilo")
    assert ilo["params"]["password"] == "***" and ilo["params"]["community"] == "***"
    assert "/etc/xenha/ilo.secret" in ilo["params"]["password_file"]  # a path, not a secret
    assert "password=***" in ilo["stderr"]
    for shown in (json.dumps(result), fence_drill.render(result)):
        assert secret not in shown
    levels = fence_drill.levels_for(ET.fromstring(cib), "host2")
    assert secret not in json.dumps(levels)


def test_an_agent_the_fencer_could_not_run_fails(agents, tmp_path):
    """Pacemaker runs fence agents from /usr/sbin only: one found on PATH only is run, but
    the device fails; a missing one, a device the CIB lacks, or one whose host list leaves
    the node out, too."""
    for name in ("fence_xenha_ilo", "fence_xenha_ilo.does"):
        os.rename(os.path.join(agents.dir, name), str(agents.bin / name))
    os.rename(os.path.join(agents.dir, "fence_xenha_apc"), str(tmp_path / "elsewhere"))

    def broken(root):
        level = next(lv for lv in root.iter("fencing-level") if lv.get("index") == "3")
        level.set("devices", "fence-host2-meatware,fence-gone")

    cib = edited(broken)
    cib = edited(add_params("fence-host2-meatware", pcmk_host_list="host1"), cib)
    result = drill(agents, "host2", cib)
    ilo = device(result, "fence-host2-ilo")
    assert ilo["state"] == "on" and not ilo["ok"]
    assert "not in %s, where Pacemaker's fencer runs agents" % agents.dir in ilo["message"]
    assert (
        "fence agent 'fence_xenha_apc' is not installed"
        in device(result, "fence-host2-apc")["message"]
    )
    assert device(result, "fence-gone")["message"] == "no fence device fence-gone in the CIB"
    person = device(result, "fence-host2-meatware")
    assert not person["manual"] and "does not name host2" in person["message"]
    assert verdicts(result) == ["fails"] * 3 and fence_drill.exit_code(result) == 2


def test_membership_unknown_is_a_note_not_a_failure(agents, monkeypatch):
    def cannot_tell(timeout=None):
        raise pacemaker.PacemakerError("crm_node -l: not connected")

    monkeypatch.setattr(pacemaker, "members", cannot_tell)
    agents.answer("fence_xenha_apc", OFF)
    result = drill(agents, "host2", members=None)
    assert result["members"] is None
    assert any("membership unknown" in n for n in result["notes"])
    assert device(result, "fence-host2-apc")["ok"]


# -- the command ------------------------------------------------------------------------

CRM_NODE = """#!/bin/sh
case "$1" in
  -n) echo host1 ;;
  -l) printf '1 host1 member\\n2 host2 member\\n3 host3 member\\n4 host4 lost\\n' ;;
esac
"""


@pytest.fixture
def cluster(agents, monkeypatch, tmp_path):
    """Pacemaker's tools as the command reads them: cibadmin prints CIB, crm_node says
    host1 and the membership, stonith_admin the fencing history."""
    (tmp_path / "cib.xml").write_text(CIB)
    (tmp_path / "history.xml").write_text(HISTORY)
    executable(agents.bin / "cibadmin", '#!/bin/sh\ncat "%s"\n' % (tmp_path / "cib.xml"))
    executable(agents.bin / "crm_node", CRM_NODE)
    executable(
        agents.bin / "stonith_admin",
        '#!/bin/sh\necho "$@" >> "$0.args"\ncat "%s"\n' % (tmp_path / "history.xml"),
    )
    monkeypatch.setattr(fence_drill, "AGENT_DIR", agents.dir)
    return agents


def xenha_in_process(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_the_command_shows_each_level_and_exits_with_the_verdict(cluster, capsys):
    cluster.answer("fence_xenha_ilo", UNREACHABLE)
    rc, out, err = xenha_in_process(capsys, "fence", "test", "host2")
    assert rc == 1, err
    assert out.startswith("xenha fence test host2: DEGRADED, level 1 fails")
    assert "probed from host1 with action=status only: nothing was powered" in out
    for line in ("fencing-topology level 1: FAILS", "level 2: WORKS", "level 3: MANUAL"):
        assert line in out
    assert "does not prove that OFF works" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    rc, out, _ = xenha_in_process(capsys, "fence", "test", "host2", "--json", "--timeout", "5")
    result = json.loads(out)
    jsonschema.validate(result, fence_drill.SCHEMA)
    assert rc == 1 and result["from"] == "host1"
    assert result["members"] == ["host1", "host2", "host3"]
    assert xenha_in_process(capsys, "fence", "test", "host3")[0] == 2
    rc, _, err = xenha_in_process(capsys, "fence", "test", "host2", "--timeout", "0")
    assert rc == 1 and "xenha: error: --timeout must be a positive" in err


def test_the_history_of_every_node_or_one(cluster, capsys):
    rc, out, _ = xenha_in_process(capsys, "fence", "history")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["TARGET", "ACTION", "STATUS", "COMPLETED", "EXECUTED", "BY",
                                "ASKED", "BY"]  # fmt: skip
    assert lines[1].split()[:3] == ["node2", "reboot", "pending"]
    assert "node3" in lines[2] and "controld@node1" in lines[2]
    assert "stonith_admin@node1" in out and "reason: Agent returned error" in out
    assert all(len(line) <= 80 for line in lines)
    rc, out, _ = xenha_in_process(capsys, "fence", "history", "node2", "--json")
    data = json.loads(out)
    jsonschema.validate(data, fence_drill.HISTORY_SCHEMA)
    assert data["node"] == "node2" and len(data["events"]) == 4
    assert data["events"][1]["delegate"] == "node3"
    args = (cluster.bin / "stonith_admin.args").read_text().splitlines()
    assert [a.split()[:2] for a in args] == [["--history", "*"], ["--history", "node2"]]


def test_an_empty_history_says_so():
    assert fence_drill.render_history([], "node2") == "no fencing recorded against node2\n"
    assert fence_drill.render_history([]) == "no fencing recorded\n"


def test_without_a_cluster_the_commands_are_clear_errors():
    """This machine runs no cluster: the real cibadmin and stonith_admin cannot connect."""
    for argv in (("fence", "test", "host2"), ("fence", "history")):
        r = run_xenha(*argv, cwd=REPO)
        assert r.returncode == 1, r
        assert r.stderr.startswith("xenha: error: ") and "Traceback" not in r.stderr


def test_the_drain_and_the_preflight_read_the_drill(cluster):
    """`xenha node standby` refuses a node that cannot be fenced now (a person's fencing
    counts: no probe can ask a person); `xenha check` says each node's verdict."""
    from xenha import check
    from xenha.cli import node
    from xenha.status import CRITICAL, OK, WARNING

    cluster.answer("fence_xenha_ilo", UNREACHABLE)
    works, summary = node._fencing("host2")
    assert works and "would fall back to level 2" in summary
    assert node._fencing("host1")[0] is False
    assert node._fencing("host3")[0] is False  # allow_no_fencing: nothing can fence it
    assert node._fencing("host4")[0] is True  # meatware only
    levels = {f.check: f.level for f in check.fencing(sorted(MEMBERS), CIB)}
    assert levels == {
        "fencing host1": CRITICAL,
        "fencing host2": WARNING,
        "fencing host3": CRITICAL,
        "fencing host4": WARNING,
    }
    cluster.answer("fence_xenha_ilo", ON)
    assert check.fencing(["host1"], CIB)[0].level == OK
