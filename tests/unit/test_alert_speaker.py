"""The speaker rule: each event is mailed by exactly one node, including when the DC is the
node the event is about or changes meanwhile, and by some node when none can be named."""

import pytest

from xenha.alerts import speaker as rule
from xenha.alerts.events import Event
from xenha.alerts.speaker import View, decide, speaker
from xenha.deadline import Deadline
from xenha.pacemaker import PacemakerError

NODES = ("xs1", "xs2", "xs3")


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(rule, "POLL", 0.01)


def event(kind, node, **fields):
    env = {"CRM_alert_kind": kind, "CRM_alert_node": node}
    env.update({"CRM_alert_" + k: str(v) for k, v in fields.items()})
    return Event(env)


def lost(node):
    return event("node", node, desc="lost")


def fenced(node, rc=0, task="reboot"):
    return event("fencing", node, task=task, rc=rc, desc="Operation %s of %s" % (task, node))


def started(node, rsc="vm-db"):
    return event("resource", node, rsc=rsc, task="start", rc=0, target_rc=0, status=0)


def answers(*views):
    """An ``ask`` that gives ``views`` in turn (then the last one again); None raises, as
    a Pacemaker tool that cannot tell does."""
    queue = list(views)

    def ask():
        view = queue.pop(0) if len(queue) > 1 else queue[0]
        if view is None:
            raise PacemakerError("crm_node -l: connection refused")
        return view

    return ask


def speakers(evt, views, budget=2.0):
    """The nodes that mail ``evt`` when each node ``me`` asks its own ``views[me]``."""
    return sorted(
        me
        for me, seen in views.items()
        if decide(evt, Deadline(budget), me=lambda me=me: me, ask=answers(*seen)).speaks
    )


def survivors(dc, *members):
    return View(None, dc, set(members))


@pytest.mark.parametrize("evt", [lost("xs3"), fenced("xs3"), fenced("xs3", rc=1, task="off")])
def test_node_and_fencing_events_are_mailed_by_the_dc_alone(evt):
    now = survivors("xs1", "xs1", "xs2")
    assert speakers(evt, {"xs1": [now], "xs2": [now]}) == ["xs1"]


def test_the_non_speaker_names_the_dc():
    verdict = decide(
        lost("xs3"), Deadline(1), me=lambda: "xs2", ask=answers(survivors("xs1", "xs1", "xs2"))
    )
    assert not verdict.speaks and "xs1" in verdict.reason


def test_a_resource_event_is_mailed_by_the_node_that_ran_it_without_asking():
    def never():
        raise AssertionError("a resource event needs no question to Pacemaker")

    assert decide(started("xs2"), Deadline(1), me=never, ask=never).speaks
    assert speaker(started("xs2"), View("xs2", "xs1", {"xs1", "xs2"})) == "xs2"


def test_the_lost_dc_is_spoken_for_by_the_new_dc():
    """The DC's loss reaches the survivors before their election: first they still name the
    lost DC (or none), then the new one, which alone mails."""
    electing = [survivors("xs1", "xs2", "xs3"), survivors(None, "xs2", "xs3")]
    elected = survivors("xs3", "xs2", "xs3")
    views = {"xs2": electing + [elected], "xs3": [electing[1], elected]}
    assert speakers(lost("xs1"), views) == ["xs3"]


def test_a_stale_dc_that_left_is_never_the_speaker():
    """A DC answer from before a change of DC (the old DC no longer a member) is not taken."""
    assert speaker(fenced("xs3"), View("xs2", "xs1", {"xs2", "xs3"})) is None
    views = {
        "xs2": [View(None, "xs1", {"xs2"}), survivors("xs2", "xs2")],
    }
    assert speakers(fenced("xs3"), views) == ["xs2"]


def test_the_fenced_dc_waits_for_its_successor():
    """A fence that powered the DC off (its own agent dies with it): the others, which
    still see it as a member and DC a moment, wait for the DC elected after it."""
    before = survivors("xs1", "xs1", "xs2", "xs3")
    after = survivors("xs2", "xs2", "xs3")
    views = {"xs2": [before, after], "xs3": [before, before, after]}
    assert speakers(fenced("xs1"), views) == ["xs2"]


def test_a_failed_fence_of_the_dc_is_mailed_by_the_dc_itself():
    now = survivors("xs1", "xs1", "xs2")
    assert speakers(fenced("xs1", rc=1), {"xs1": [now], "xs2": [now]}) == ["xs1"]


def test_with_no_dc_named_within_the_budget_every_node_speaks_in_time():
    """Never no mail: a node that cannot name the speaker mails, at the end of its budget."""
    deadline = Deadline(0.6)
    verdict = decide(lost("xs1"), deadline, me=lambda: "xs2", ask=answers(None))
    assert verdict.speaks and "no DC" in verdict.reason
    assert 0.6 <= deadline.elapsed() < 0.6 + 0.5


def test_a_node_whose_pacemaker_cannot_tell_its_name_speaks_at_once():
    def unknown():
        raise PacemakerError("crm_node -n: connection refused")

    deadline = Deadline(5)
    assert decide(lost("xs1"), deadline, me=unknown).speaks
    assert deadline.elapsed() < 1


@pytest.mark.parametrize("dc", NODES)
@pytest.mark.parametrize("victim", NODES)
def test_one_speaker_for_every_loss_whoever_the_dc(dc, victim):
    """Each node loss of a 3-node cluster, with each DC: exactly one survivor mails the
    loss, and exactly one its fence."""
    rest = [n for n in NODES if n != victim]
    new_dc = dc if dc != victim else rest[-1]
    for evt in (lost(victim), fenced(victim)):
        views = {
            me: [survivors(dc, *NODES), survivors(None, *rest), survivors(new_dc, *rest)]
            for me in rest
        }
        assert speakers(evt, views) == [new_dc], (evt.kind, views)
