"""One time budget (xenha.deadline): monotonic deadlines, fractions of a budget, polling."""

import time

from xenha import deadline as d
from xenha import ocf
from xenha.pool_agent import QUICK, STEPS, WORK, call_timeout


class Clock:
    """A monotonic clock the test moves; sleeping moves it too."""

    def __init__(self, monkeypatch):
        self.now = 1000.0
        self.sleeps = []
        monkeypatch.setattr(d.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(d.time, "sleep", self.sleep)

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def test_left_expired_and_fractions_share_the_start(monkeypatch):
    clock = Clock(monkeypatch)
    budget = d.Deadline(20)
    step = budget.fraction(0.9)
    clock.now += 10
    assert (budget.left(), step.left(), budget.elapsed()) == (10.0, 8.0, 10.0)
    clock.now += 9
    assert step.expired() and not budget.expired() and step.left() == 0.0


def test_a_wall_clock_step_does_not_move_a_deadline(monkeypatch):
    budget = d.Deadline(5)
    monkeypatch.setattr(time, "time", lambda: 0.0)  # the clock set back to 1970
    assert 4 < budget.left() <= 5 and not budget.expired()


def test_poll_asks_until_it_holds_or_once_more_at_the_deadline(monkeypatch):
    clock = Clock(monkeypatch)
    answers = iter([False, False, True])
    assert d.Deadline(1).poll(lambda: next(answers), 0.2) is True
    assert clock.sleeps == [0.2, 0.2]
    asked = []
    clock.sleeps[:] = []
    assert d.Deadline(0.5).poll(lambda: asked.append(1), 0.2) is False
    assert clock.sleeps == [0.2, 0.2, 0.1] and len(asked) == 4


def test_poll_interval_may_depend_on_the_time_elapsed(monkeypatch):
    clock = Clock(monkeypatch)
    d.Deadline(4).poll(lambda: False, lambda elapsed: 1.0 if elapsed < 2 else 2.0)
    assert clock.sleeps == [1.0, 1.0, 2.0]


def test_an_action_budget_starts_with_the_action_and_calls_have_named_budgets():
    agent = ocf.ResourceAgent("demo", "s", "l", "1", [])
    agent.action("monitor", timeout=30)(lambda res: None)
    agent.action("promote", timeout=300)(lambda res: None)
    monitor = ocf.Resource(agent, "monitor", {})
    assert 29 < monitor.budget.left() <= 30
    assert call_timeout(monitor, QUICK) == 7.5 and call_timeout(monitor, WORK) == 12.0
    promote = ocf.Resource(agent, "promote", {"OCF_RESKEY_CRM_meta_timeout": "400000"})
    assert call_timeout(promote, QUICK) == 10.0 and call_timeout(promote, STEPS) == 30.0
    assert call_timeout(promote, WORK) == 160.0
