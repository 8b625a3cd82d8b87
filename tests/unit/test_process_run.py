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


# An agent (a process of its own, the leader of its process group as Pacemaker starts
# it) that runs a command through xenha.process.run; the command starts a child of its
# own, writes both pids, then waits.
AGENT = """
import sys
from xenha import process
process.run([sys.argv[1]], 60)
"""


@pytest.fixture
def family(tmp_path):
    """(start the agent, read the command's and its child's pids)."""
    import subprocess
    import sys

    pids = tmp_path / "pids"
    script = tmp_path / "fence-script"
    script.write_text("#!/bin/sh\nsleep 60 &\necho $$ $! > %s.tmp\nmv %s.tmp %s\nwait\n"
                      % (pids, pids, pids))  # fmt: skip
    os.chmod(str(script), stat.S_IRWXU)
    started = []

    def start():
        agent = subprocess.Popen([sys.executable, "-c", AGENT, str(script)], start_new_session=True)
        started.append(agent)
        deadline = time.monotonic() + 10
        while not pids.exists():
            assert time.monotonic() < deadline, "the command did not start its child"
            time.sleep(0.02)
        command, child = (int(p) for p in pids.read_text().split())
        started.extend([command, child])
        return agent, command, child

    yield start
    for pid in started[1:]:
        if running(pid):
            os.kill(pid, 9)
    for agent in started[:1]:
        agent.kill()
        agent.wait()


@pytest.mark.parametrize(
    "kill",
    [
        # Pacemaker's executor and fencer kill a timed-out agent's whole process group.
        pytest.param(lambda pid: os.killpg(pid, 9), id="the agent's process group"),
        # A synchronous Pacemaker action, the OOM killer or a person kill only the pid.
        pytest.param(lambda pid: os.kill(pid, 9), id="the agent's pid alone"),
    ],
)
def test_a_sigkill_of_the_agent_ends_the_command_and_its_child(family, kill):
    agent, command, child = family()
    kill(agent.pid)
    agent.wait()
    assert gone_soon(command), "the command outlived its agent"
    assert gone_soon(child), "the command's child outlived the agent"


def test_a_missing_or_unrunnable_command_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        process.run(["xenha-no-such-command"], 5)
    with pytest.raises(FileNotFoundError):
        process.run([str(tmp_path / "missing")], 5)
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        process.run([str(plain)], 5)
    rc, out, _ = process.run(["sh", "-c", "echo $0; kill -9 $$"], 5)
    assert (rc, out) == (128 + 9, "sh\n")


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
        apply.crm([script])
    assert gone_soon(child())


def test_lines_come_as_the_command_writes_them_and_leaving_kills_its_group(lingering):
    script = "echo first; sleep 0.3; echo second; echo oops >&2; exit 4"
    started = time.monotonic()
    with process.Lines(["sh", "-c", script]) as out:
        lines = iter(out)
        assert next(lines) == "first\n" and time.monotonic() - started < 0.3
        assert list(lines) == ["second\n"]
        assert out.wait() == (4, "oops\n")
    tool, child = lingering
    with process.Lines([tool]) as out:
        pid = child()
    assert gone_soon(pid), "the command's child outlived the reader"
    with pytest.raises(FileNotFoundError):
        process.Lines(["xenha-no-such-command"])
