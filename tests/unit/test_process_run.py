"""xenha.process.run: the bound, and that neither a timeout nor an interruption (a
fence agent's alarm) leaves the command or what it started running. Also checks
every caller goes through it (password scripts, fence scripts, Pacemaker tools, crmsh)."""

import os
import stat
import time

import pytest

from xenha import pacemaker, process, secrets
from xenha.crm import apply
from xenha.errors import XenhaError
from xenha.fencing.agent import bounded
from xenha.fencing.device import Unreachable


def running(pid):
    """True while ``pid`` exists and is not a zombie (nobody may reap orphans here)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def gone_soon(pid):
    deadline = time.monotonic() + 3
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not running(pid)


@pytest.fixture
def lingering(tmp_path):
    """A script that starts a child, records its pid, then waits: (path, read child pid)."""
    pidfile = tmp_path / "child.pid"
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\nsleep 60 &\necho $! > %s\nwait\n" % pidfile)
    os.chmod(str(script), stat.S_IRWXU)

    def child():
        deadline = time.monotonic() + 3
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline, "the script did not start its child"
            time.sleep(0.02)
        return int(pidfile.read_text())

    yield str(script), child
    if pidfile.exists() and pidfile.read_text().strip() and running(child()):
        os.kill(child(), 9)


def test_output_exit_code_and_input():
    rc, out, err = process.run(["sh", "-c", "read x; echo out-$x; echo err >&2; exit 3"], 5, "in\n")
    assert (rc, out, err) == (3, "out-in\n", "err\n")


def test_a_timeout_kills_the_whole_group(lingering):
    script, child = lingering
    started = time.monotonic()
    with pytest.raises(process.CommandTimeout, match="did not finish within 0.5s"):
        process.run([script], 0.5)
    assert time.monotonic() - started < 3
    assert gone_soon(child())


def test_a_password_script_interrupted_by_the_agents_alarm_is_killed(lingering):
    """The fence runner's own bound (SIGALRM) fires while the script runs (S5)."""
    script, child = lingering
    with pytest.raises(Unreachable, match="no answer within"), bounded(0.5, "password"):
        secrets.run_script(script, 30)
    assert gone_soon(child()), "the password script's child outlived the agent's bound"


def test_every_caller_is_bounded(lingering, monkeypatch):
    script, child = lingering
    with pytest.raises(XenhaError, match="did not finish"):
        secrets.run_script(script, 0.3)
    assert gone_soon(child())
    with pytest.raises(pacemaker.PacemakerError, match="did not answer within"):
        pacemaker._run([script], 0.3)
    assert gone_soon(child())
    monkeypatch.setattr(apply, "CRM_TIMEOUT", 0.3)
    with pytest.raises(apply.LoadError, match="did not finish within 0.3s"):
        apply._crm([script])
    assert gone_soon(child())
