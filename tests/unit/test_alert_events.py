"""What alert-email mails, and what it calls routine: the table from docs/alerts.md."""

import os

import pytest

from tests.conftest import REPO
from xenha import model
from xenha.alerts.events import Event
from xenha.crm import plan


def resource(rsc, task, rc, target_rc=0, status=0, interval=0, desc="ok", node="xs2"):
    return {
        "CRM_alert_kind": "resource",
        "CRM_alert_rsc": rsc,
        "CRM_alert_task": task,
        "CRM_alert_rc": str(rc),
        "CRM_alert_target_rc": str(target_rc),
        "CRM_alert_status": str(status),
        "CRM_alert_interval": str(interval),
        "CRM_alert_desc": desc,
        "CRM_alert_node": node,
    }


def fencing(rc, task="reboot"):
    """A fencing alert as Pacemaker 2.1 passes it: the action only in the description."""
    desc = "Operation %s of xs1 by xs2 for pacemaker-controld.42@xs2: %s (ref=f9361c89)" % (
        task,
        "OK" if rc == 0 else "Error",
    )
    return {
        "CRM_alert_kind": "fencing",
        "CRM_alert_node": "xs1",
        "CRM_alert_task": "st_notify_fence",
        "CRM_alert_rc": str(rc),
        "CRM_alert_desc": desc,
    }


MAILED = [
    (
        {"CRM_alert_kind": "node", "CRM_alert_node": "xs1", "CRM_alert_desc": "lost"},
        "lost",
        "host xs1 lost: it left the cluster",
    ),
    (fencing(0), "reboot:ok", "host xs1 fenced (reboot)"),
    (fencing(1, "off"), "off:failed", "FENCING of host xs1 FAILED (off)"),
    (resource("vm-db", "start", 0), "start:ok", "VM vm-db started on xs2"),
    (resource("vm-db", "migrate_from", 0), "migrate_from:ok", "VM vm-db migrated to xs2"),
    (
        resource("vm-db", "start", 1, status=4, desc="error"),
        "start:failed",
        "VM vm-db failed to start on xs2: error",
    ),
    (
        resource("vm-db", "monitor", 7, interval=10000, desc="not running"),
        "monitor:failed",
        "VM vm-db monitor failed on xs2: not running",
    ),
    (
        resource("vm-db", "stop", 1, status=2, desc="Timed Out"),
        "stop:failed",
        "VM vm-db failed to stop on xs2: Timed Out",
    ),
    (resource("pool-master:1", "promote", 0), "promote:ok", "host xs2 is now the pool master"),
    (
        resource("vm-db", "monitor", 1, target_rc=7, status=4, desc="error"),
        "monitor:failed",
        "VM vm-db monitor failed on xs2: error",
    ),
    (resource("storage", "promote", 0), "promote:ok", "resource storage promoted on xs2"),
    (
        resource("fence-xs1-ilo", "start", 1, status=4, desc="error"),
        "start:failed",
        "resource fence-xs1-ilo failed to start on xs2: error",
    ),
]

ROUTINE = [
    {"CRM_alert_kind": "node", "CRM_alert_node": "xs1", "CRM_alert_desc": "member"},
    {"CRM_alert_kind": "attribute", "CRM_alert_node": "xs1", "CRM_alert_attribute_name": "pingd"},
    resource("vm-db", "monitor", 0, interval=10000),  # a recurring check that passed
    resource("vm-db", "monitor", 7, target_rc=7),  # a probe: not running here, as expected
    resource("vm-db", "monitor", 0, target_rc=7, desc="ok"),  # a probe finding it running
    resource("pool-master:1", "monitor", 8, target_rc=7, desc="promoted"),  # ... promoted
    resource("vm-db", "monitor", 0, interval=10000, status=1, desc="Cancelled"),
    resource("vm-db", "stop", 0),
    resource("vm-db", "migrate_to", 0),
    resource("pool-master", "start", 0),
    resource("pool-master", "demote", 0),
    resource("fence-xs1-ilo", "start", 0),
    resource("ping", "start", 0),
]


@pytest.mark.parametrize("env, outcome, subject", MAILED)
def test_significant_events(env, outcome, subject):
    assert Event(env).summary() == (outcome, subject)


@pytest.mark.parametrize("env", ROUTINE)
def test_routine_events(env):
    assert Event(env).summary() is None


def test_resource_names_follow_the_generator():
    from xenha.alerts import events
    from xenha.crm import agents

    assert events.POOL_MASTER == plan.MASTER
    cfg = plan.build(model.load(os.path.join(REPO, "tests", "golden", "two-node-qdevice.yaml")))
    vms = [p.id for p in cfg.primitives if p.agent == agents.VM_AGENT]
    assert vms and all(v.startswith(events.VM_PREFIX) for v in vms)
    assert not any(p.id.startswith(events.VM_PREFIX) for p in cfg.primitives if p.id not in vms)


def test_body_lists_the_fields_and_what_happens_next():
    event = Event(fencing(1))
    outcome, subject = event.summary()
    body = event.body(outcome, subject, "xs2")
    assert body.splitlines()[0] == subject
    assert "reported by: xs2" in body and "return code: 1" in body
    assert "xenha fence confirm xs1" in body


def test_line_breaks_in_values_cannot_reach_the_subject():
    env = {"CRM_alert_kind": "node", "CRM_alert_node": "xs1\nBcc: x@y", "CRM_alert_desc": "lost"}
    assert "\n" not in Event(env).summary()[1]
