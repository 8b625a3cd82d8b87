"""fence_xenha_script runs HA-Lizard-style custom fence scripts and reads the state back."""

import os
import time

import pytest

from tests.agents.fence import run_agent

HOST = "6f1c2a9e-3c1d-4c55-9a51-2d4b8f0e7a11"

# A custom fence method as HA-Lizard users write them, plus a `status` verb.
WITH_STATUS = """#!/bin/sh
echo "$1 $2" >> "%(log)s"
state="%(dir)s/$1.power"
case "$2" in
  stop) echo off > "$state" ;;
  start) echo on > "$state" ;;
  reset) echo on > "$state" ;;
  status) [ "$(cat "$state" 2>/dev/null || echo on)" = off ] && exit 2; exit 0 ;;
  *) exit 1 ;;
esac
exit 0
"""


def make_script(tmp_path, name, body):
    d = tmp_path / name
    d.mkdir()
    path = d / (name + ".sh")
    path.write_text(body % {"log": tmp_path / "calls.log", "dir": tmp_path})
    os.chmod(str(path), 0o755)
    return path


def calls(tmp_path):
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def agent(fence_agents):
    return fence_agents["fence_xenha_script"]


def opts(tmp_path, action, name="IPMIX", **extra):
    o = {"action": action, "plug": HOST, "script_name": name, "script_dir": str(tmp_path)}
    o.update(extra)
    return o


def test_off_reads_back_with_status(agent, tmp_path):
    make_script(tmp_path, "IPMIX", WITH_STATUS)
    r = run_agent(agent, opts(tmp_path, "off"))
    assert r.returncode == 0, r.stderr
    assert calls(tmp_path) == [HOST + " stop", HOST + " status"]
    r = run_agent(agent, opts(tmp_path, "status"))
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF")
    assert run_agent(agent, opts(tmp_path, "reboot")).returncode == 0
    assert calls(tmp_path)[-4:] == [
        HOST + " stop",
        HOST + " status",
        HOST + " start",
        HOST + " status",
    ]


def test_script_without_status_needs_explicit_trust(agent, tmp_path):
    make_script(tmp_path, "OLD", '#!/bin/sh\necho "$1 $2" >> "%(log)s"\n[ "$2" = stop ]\n')
    r = run_agent(agent, opts(tmp_path, "off", name="OLD", power_timeout=1))
    assert r.returncode == 1
    assert "status exited 1, so the power state is unknown" in r.stderr
    assert "stop_confirms_off=1" in r.stderr
    r = run_agent(agent, opts(tmp_path, "off", name="OLD", stop_confirms_off=1))
    assert r.returncode == 0, r.stderr


def test_failing_or_hanging_script_is_a_failure(agent, tmp_path):
    make_script(tmp_path, "FAIL", "#!/bin/sh\necho device says no\nexit 1\n")
    r = run_agent(agent, opts(tmp_path, "off", name="FAIL", stop_confirms_off=1))
    assert r.returncode == 1 and "stop failed (exit 1): device says no" in r.stderr
    make_script(tmp_path, "HANG", "#!/bin/sh\nsleep 30\n")
    started = time.monotonic()
    r = run_agent(agent, opts(tmp_path, "off", name="HANG", login_timeout=1))
    assert r.returncode == 1 and "did not finish within" in r.stderr
    assert time.monotonic() - started < 10


def test_unsafe_or_missing_scripts_are_refused(agent, tmp_path):
    path = make_script(tmp_path, "LOOSE", WITH_STATUS)
    os.chmod(str(path), 0o777)
    r = run_agent(agent, opts(tmp_path, "off", name="LOOSE"))
    assert r.returncode == 1 and "may be changed by other users" in r.stderr
    r = run_agent(agent, opts(tmp_path, "off", name="NOPE"))
    assert r.returncode == 1 and "No such file" in r.stderr
    r = run_agent(agent, opts(tmp_path, "off", name="../x"))
    assert r.returncode == 1 and "must be a plain name" in r.stderr
    make_script(tmp_path, "IPMIX", WITH_STATUS)
    r = run_agent(agent, dict(opts(tmp_path, "off"), plug="-rf"))
    assert r.returncode == 1 and "is not a host UUID" in r.stderr
    assert calls(tmp_path) == []
