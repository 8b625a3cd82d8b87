"""xenha.pacemaker: the fencing history parser (Pacemaker 2.1's XML), node name, scores.

The fixtures in tests/data/ are in the exact shape ``stonith_admin --history NODE
--verbose --output-as=xml`` prints with Pacemaker 2.1 (lib/fencing/st_output.c:
one ``fence_event`` per operation inside the ``fencing history`` list, the
completion time as crm_time_as_string prints it, then the ``status`` element).
"""

import os
import stat

import pytest

from xenha import pacemaker

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def fixture(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


HISTORY = fixture("stonith_admin_history_node2.xml")
NOT_CONNECTED = fixture("stonith_admin_not_connected.xml")

EPOCH_2210 = 1795299005  # 2026-11-21 22:10:05 UTC


def test_timestamps_in_both_forms_pacemaker_prints():
    assert pacemaker.parse_timestamp("2026-11-21 22:10:05Z") == EPOCH_2210
    assert pacemaker.parse_timestamp("2026-11-21 23:10:05 +01:00") == EPOCH_2210
    assert pacemaker.parse_timestamp("2026-11-21 17:10:05 -05:00") == EPOCH_2210
    with pytest.raises(pacemaker.PacemakerError):
        pacemaker.parse_timestamp("yesterday")


def test_parse_history():
    events = pacemaker.parse_fence_history(HISTORY)
    assert [(e.action, e.status) for e in events] == [
        ("reboot", "pending"),
        ("off", "success"),
        ("reboot", "failed"),
        ("on", "success"),
    ]
    assert events[0].completed is None
    assert events[1].completed == EPOCH_2210
    assert events[2].completed == EPOCH_2210 + 30 * 60 - 5


def test_history_says_who_executed_and_who_asked():
    pending, off, failed, _ = pacemaker.parse_fence_history(HISTORY)
    assert (off.delegate, off.origin, off.client) == ("node3", "node1", "pacemaker-controld.1342")
    assert pending.delegate is None and pending.exit_reason is None
    assert (failed.client, failed.exit_reason) == ("stonith_admin.2211", "Agent returned error")
    assert off.as_dict() == {
        "target": "node2",
        "action": "off",
        "status": "success",
        "completed": EPOCH_2210,
        "delegate": "node3",
        "origin": "node1",
        "client": "pacemaker-controld.1342",
        "exit_reason": None,
    }


def test_the_cib_is_read_with_cibadmin(shim, tmp_path):
    shim("cibadmin", "<cib><configuration/></cib>\n")
    assert pacemaker.parse_xml(pacemaker.cib("configuration"), "the CIB").tag == "cib"
    assert (tmp_path / "cibadmin.args").read_text() == "--query --scope configuration\n"
    shim("cibadmin", "", rc=102)
    with pytest.raises(pacemaker.PacemakerError, match="cibadmin --query failed"):
        pacemaker.cib()
    with pytest.raises(pacemaker.PacemakerError, match="the CIB is no XML"):
        pacemaker.parse_xml("Could not connect", "the CIB")


def test_a_failed_query_is_an_error_not_an_empty_history():
    with pytest.raises(
        pacemaker.PacemakerError, match="Not connected.*Could not connect to fencer"
    ):
        pacemaker.parse_fence_history(NOT_CONNECTED)
    with pytest.raises(pacemaker.PacemakerError, match="status 102"):
        pacemaker.parse_fence_history(
            '<pacemaker-result><fence_history status="102"/></pacemaker-result>'
        )
    with pytest.raises(pacemaker.PacemakerError, match="unreadable"):
        pacemaker.parse_fence_history("<pacemaker-result")


@pytest.fixture
def shim(tmp_path, monkeypatch):
    """Put a fake Pacemaker tool first on PATH: it prints ``output`` and exits ``rc``."""

    def make(tool, output, rc=0):
        path = tmp_path / tool
        (tmp_path / (tool + ".out")).write_text(output)
        path.write_text(
            '#!/bin/sh\necho "$@" >> "%s.args"\ncat "%s.out"\nexit %d\n' % (path, path, rc)
        )
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
        return path

    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path, os.environ["PATH"]))
    return make


def test_fenced_since_counts_only_successful_off_or_reboot_after_the_time(shim):
    tool = shim("stonith_admin", HISTORY)
    assert pacemaker.fenced_since("node2", EPOCH_2210 - 60) == EPOCH_2210
    # later there is only a failed reboot and a power-on: not fenced since then
    assert pacemaker.fenced_since("node2", EPOCH_2210 + 1) is None
    args = (tool.parent / "stonith_admin.args").read_text().split()
    assert args[:5] == ["--history", "node2", "--verbose", "--output-as=xml", "--timeout"]


def test_a_fence_counts_only_a_clock_margin_after_the_time_it_must_follow(shim):
    """The completion is the fencer's clock, the time (a VM's start, a host's last sign of
    life) another host's, both in whole seconds: a fence of the same second, or one
    second later, may well have come before; only CLOCK_MARGIN (2 s) later counts."""
    shim("stonith_admin", HISTORY)
    assert pacemaker.fenced_since("node2", EPOCH_2210) is None
    assert pacemaker.fenced_since("node2", EPOCH_2210 - 1) is None
    assert pacemaker.fenced_since("node2", EPOCH_2210 - 2) == EPOCH_2210
    assert pacemaker.CLOCK_MARGIN == 2
    assert pacemaker.fenced_since("node2", EPOCH_2210, margin=0) == EPOCH_2210


def test_history_of_another_node_does_not_count(shim):
    shim("stonith_admin", HISTORY)
    assert pacemaker.fenced_since("node3", 0) is None


def test_fencer_unreachable_is_cannot_tell(shim):
    shim("stonith_admin", NOT_CONNECTED, rc=102)
    with pytest.raises(pacemaker.PacemakerError):
        pacemaker.fenced_since("node1", 0)


def test_real_stonith_admin_without_a_cluster_is_cannot_tell():
    # This machine runs no fencer: the real tool answers "Not connected".
    with pytest.raises(pacemaker.PacemakerError, match="Not connected|failed"):
        pacemaker.fenced_since("node1", 0, timeout=5)


def test_hung_tool_times_out(shim, tmp_path):
    (tmp_path / "stonith_admin").write_text("#!/bin/sh\nexec sleep 30\n")
    (tmp_path / "stonith_admin").chmod(0o755)
    with pytest.raises(pacemaker.PacemakerError, match="did not answer"):
        pacemaker.fence_history("node1", timeout=0.5)


def test_node_name_from_pacemaker_env_else_crm_node(shim):
    assert pacemaker.node_name({"OCF_RESKEY_CRM_meta_on_node": "node7"}) == "node7"
    shim("crm_node", "node8\n")
    assert pacemaker.node_name({}) == "node8"
    shim("crm_node", "", rc=102)
    with pytest.raises(pacemaker.PacemakerError, match="cannot tell this node's name"):
        pacemaker.node_name({})


def test_notify_data():
    data = pacemaker.notify_data(
        {
            "OCF_RESKEY_CRM_meta_notify_type": "pre",
            "OCF_RESKEY_CRM_meta_notify_operation": "demote",
            "OCF_RESKEY_CRM_meta_notify_promote_uname": "node2 ",
            "OCF_RESKEY_CRM_meta_notify_demote_uname": "node1",
            "OCF_RESKEY_CRM_meta_notify_active_uname": "node1 node2 node3",
        }
    )
    assert data["type"] == "pre" and data["operation"] == "demote"
    assert data["promote"] == ["node2"] and data["demote"] == ["node1"]
    assert data["active"] == ["node1", "node2", "node3"] and data["stop"] == []


def test_promotion_scores_through_crm_attribute(shim):
    tool = shim("crm_attribute", "")
    pacemaker.set_promotion_score("pool-master", 100)
    pacemaker.set_promotion_score("pool-master", "-INFINITY")
    pacemaker.set_promotion_score("pool-master", None)
    assert (tool.parent / "crm_attribute.args").read_text().splitlines() == [
        "--promotion=pool-master --update=100",
        "--promotion=pool-master --update=-INFINITY",
        "--promotion=pool-master --delete",
    ]
    shim("crm_attribute", "", rc=102)
    with pytest.raises(pacemaker.PacemakerError):
        pacemaker.set_promotion_score("pool-master", 5)


def test_promotion_scores_before_pacemaker_2_1_are_the_master_attribute(shim, tmp_path):
    """2.0.5 (feature set 3.6.1) and 1.1 have no --promotion: the score is the node
    attribute their crm_master -l reboot sets, told by the feature set Pacemaker passes,
    or, when none is passed, by crm_attribute's refusal (CRM_EX_USAGE, as 2.0.5's does:
    tests/agents/test_stacks.py)."""
    tool = shim("crm_attribute", "")
    old = {"OCF_RESKEY_crm_feature_set": "3.6.1"}
    pacemaker.set_promotion_score("pool-master:0", 100, env=old)
    pacemaker.set_promotion_score("pool-master:0", None, env=old)
    new = {"OCF_RESKEY_crm_feature_set": "3.16.1"}
    pacemaker.set_promotion_score("pool-master:0", 5, env=new)
    assert (tool.parent / "crm_attribute.args").read_text().splitlines() == [
        "--name=master-pool-master:0 --lifetime=reboot --update=100",
        "--name=master-pool-master:0 --lifetime=reboot --delete",
        "--promotion=pool-master:0 --update=5",
    ]
    (tool.parent / "crm_attribute.args").unlink()
    refuses = tmp_path / "crm_attribute"
    refuses.write_text(
        '#!/bin/sh\necho "$@" >> "%s.args"\ncase "$1" in --promotion*) exit 64;; esac\n' % refuses
    )
    pacemaker.set_promotion_score("pool-master:0", 10, env={})
    assert (tool.parent / "crm_attribute.args").read_text().splitlines() == [
        "--promotion=pool-master:0 --update=10",
        "--name=master-pool-master:0 --lifetime=reboot --update=10",
    ]


@pytest.fixture
def utc(monkeypatch):
    """This process's local time zone, for the text history's local times."""
    import time

    def zone(name):
        monkeypatch.setenv("TZ", name)
        time.tzset()

    zone("UTC")
    yield zone
    monkeypatch.undo()
    time.tzset()


def test_fencing_history_as_pacemaker_1_1_prints_it(shim, utc):
    """stonith_admin before 2.0.2 has no --output-as (CRM_EX_USAGE); its text (written from
    1.1.23's format strings: tests/data) is read instead, its local times as local."""
    tool = shim("stonith_admin", fixture("stonith_admin_history_node2_1.1.txt"))
    events = pacemaker.fence_history("node2", env={"OCF_RESKEY_crm_feature_set": "3.0.14"})
    assert [(e.action, e.status, e.completed, e.delegate) for e in events] == [
        ("reboot", "pending", None, None),
        ("off", "success", EPOCH_2210, "node3"),
        ("reboot", "failed", EPOCH_2210 + 1795, None),
        ("on", "success", EPOCH_2210 + 1195, "node3"),
    ]
    args = (tool.parent / "stonith_admin.args").read_text().split()
    assert "--output-as=xml" not in args and args[:3] == ["--history", "node2", "--verbose"]
    # Not told the feature set: the XML is asked for, refused, then the text.
    (tool.parent / "stonith_admin.args").unlink()
    refuses = tool.parent / "stonith_admin"
    refuses.write_text(
        '#!/bin/sh\necho "$@" >> "%s.args"\n'
        'case "$*" in *--output-as*) echo "usage" >&2; exit 64;; esac\ncat "%s.out"\n'
        % (refuses, refuses)
    )
    utc("Europe/Berlin")  # 22:10:05 local is 21:10:05 UTC
    events = pacemaker.fence_history("node2", env={})
    assert events[1].completed == EPOCH_2210 - 3600
    assert len((tool.parent / "stonith_admin.args").read_text().splitlines()) == 2
    # 1.1 itself refuses an unknown option with exit 1 and getopt's complaint.
    refuses.write_text(
        '#!/bin/sh\ncase "$*" in *--output-as*)\n'
        "  echo \"stonith_admin: unrecognized option '--output-as=xml'\" >&2; exit 1;; esac\n"
        'cat "%s.out"\n' % refuses
    )
    assert len(pacemaker.fence_history("node2", env={})) == 4
    # A feature set of 3.1 (2.0.0 to 2.0.2) asks for the XML first: 2.0.2 has it.
    xml = shim("stonith_admin", HISTORY)
    (xml.parent / "stonith_admin.args").unlink()
    pacemaker.fence_history("node2", env={"OCF_RESKEY_crm_feature_set": "3.1.0"})
    assert "--output-as=xml" in (xml.parent / "stonith_admin.args").read_text()


def test_a_text_history_time_a_clock_change_makes_ambiguous_is_the_earlier(utc):
    utc("Europe/Berlin")  # summer time ends 2026-10-25 03:00 CEST: 02:30 happens twice
    line = "node3 was able to reboot node node2 on behalf of crmd.1 from node1 at %s\n"
    (event,) = pacemaker.parse_text_fence_history(line % "Sun Oct 25 02:30:00 2026")
    assert event.completed == 1792888200  # 00:30 UTC (CEST), not 01:30 UTC (CET) ...
    assert event.completed_latest == 1792891800  # ... which is kept, to order two fences
    (plain,) = pacemaker.parse_text_fence_history(line % "Sun Oct 25 04:30:00 2026")
    assert plain.completed == plain.completed_latest
    with pytest.raises(pacemaker.PacemakerError, match="no local time here"):
        pacemaker.parse_text_fence_history(line % "Sun Mar 29 02:30:00 2026")  # skipped
    with pytest.raises(pacemaker.PacemakerError, match="unreadable fencing history line"):
        pacemaker.parse_text_fence_history("something else\n")


def test_notify_lists_under_pacemaker_2_0s_names():
    data = pacemaker.notify_data(
        {
            "OCF_RESKEY_CRM_meta_notify_master_uname": "node1",
            "OCF_RESKEY_CRM_meta_notify_slave_uname": "node2 node3",
        }
    )
    assert data["promoted"] == ["node1"] and data["unpromoted"] == ["node2", "node3"]


def test_membership_from_crm_node(shim):
    shim("crm_node", "1 node1 member\n2 node2 lost\n3 node3 member\n")
    assert pacemaker.is_member("node1") and pacemaker.is_member("node3")
    assert not pacemaker.is_member("node2")
    assert not pacemaker.is_member("node4")  # unknown: not a member


def test_membership_unknown_is_cannot_tell(shim):
    shim("crm_node", "", rc=1)
    with pytest.raises(pacemaker.PacemakerError, match="crm_node -l"):
        pacemaker.is_member("node1")


def test_designated_controller_from_crmadmin(shim):
    tool = shim("crmadmin", "Designated Controller is: node2\n")
    assert pacemaker.designated_controller(timeout=3) == "node2"
    assert (tool.parent / "crmadmin.args").read_text().split() == [
        "--dc_lookup",
        "--timeout",
        "3000",
    ]


def test_no_dc_is_cannot_tell(shim):
    shim("crmadmin", "error: No reply received from controller before timeout (3000ms)\n", rc=124)
    with pytest.raises(pacemaker.PacemakerError, match="no DC known"):
        pacemaker.designated_controller()
