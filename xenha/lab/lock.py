"""One lab per machine: the machine-wide lab lock and the state file that says whose lab is up.

Two things protect a lab:

* the lock, an exclusive ``flock`` on /run/lock/xenha-lab.lock, held while a lab is
  brought up, configured or taken down (a transition), so that two commands never
  build or remove a lab at the same time. The kernel drops it when its holder dies:
  a killed command leaves no stale lock. The holder writes its PID and command line
  into the file for the message of whoever finds it held;
* the lab's state file (``lab.json``), written first by ``up``: the lab's id and its
  owner, the process that brought it up (PID, start time, command line). ``xenha lab
  up`` returns and leaves the lab running; as long as the state file exists and its
  owner or any of the lab's processes (their PID files beside the state file) lives,
  the lab is up and another ``up`` refuses.

A state file whose owner and processes are all gone is stale (a killed run): the next
``up`` removes that lab first, and ``xenha lab down`` removes it on request.
"""

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path

from xenha.errors import XenhaError
from xenha.lab.proc import PidFile, start_time

LOCK = Path("/run/lock/xenha-lab.lock")
_held = []  # the paths this process holds: a transition inside a transition does not wait


class LabBusy(XenhaError):
    """Another lab is up on this machine, or another lab command is in a transition."""


@contextlib.contextmanager
def held(what, wait=0.0, path=None):
    """Hold the lab lock (``path``, default LOCK) while ``what`` ("bringing a lab up", …)
    runs; wait up to ``wait`` seconds for another holder, then raise LabBusy naming it."""
    path = Path(path or LOCK)
    if path in _held:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LabBusy(
                        "another lab command holds the lab lock (%s): try again when it "
                        "is done" % _holder(path)
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, ("pid %d, `%s`, %s\n" % (os.getpid(), _command(), what)).encode())
        _held.append(path)
        try:
            yield
        finally:
            _held.remove(path)
    finally:
        os.close(fd)  # and with it the lock


def _holder(path):
    try:
        return path.read_text().strip() or "its holder did not say who it is"
    except OSError:
        return "its holder did not say who it is"


def _command():
    """This process's command line, as ps shows it (which checkout's lab command it is)."""
    try:
        argv = Path("/proc/self/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        argv = [sys.executable] + sys.argv
    text = " ".join(" ".join(argv).split())
    return text if len(text) <= 200 else text[:197] + "..."


def owner():
    """This process as the owner of a lab: the identity written into the state file."""
    pid = os.getpid()
    return {"pid": pid, "start": start_time(pid), "command": _command(), "since": time.time()}


def read(state_file):
    """The state a lab's state file holds; None without a (readable) one."""
    try:
        state = json.loads(Path(state_file).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def live_processes(state_file):
    """PIDs of the lab's processes still running (the PID files beside the state file)."""
    pids = (PidFile(p).pid() for p in sorted(Path(state_file).parent.glob("**/*.pid")))
    return [pid for pid in pids if pid is not None]


def owner_alive(state):
    """Whether the process that brought the lab up still runs (the same process, not a
    recycled PID)."""
    who = state.get("owner") or {}
    return bool(who.get("pid")) and start_time(who["pid"]) == who.get("start")


def check_free(state_file):
    """Before a lab comes up (under the lock): LabBusy if the state file describes a lab
    that is up; else the stale state left by a killed run ({} for a state directory
    without a readable state file), or None if there is no lab at all."""
    state = read(state_file)
    if state is None:
        if not Path(state_file).parent.exists():
            return None
        state = {}
    if owner_alive(state) or live_processes(state_file):
        raise LabBusy("a lab is already up (%s); `xenha lab down` takes it down" % describe(state))
    return state


def describe(state):
    """A lab's size and owner, as the messages about it say them."""
    who = state.get("owner")
    if who:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(who.get("since", 0)))
        by = "brought up by pid %s (%s) at %s" % (who.get("pid"), who.get("command"), since)
    else:
        by = "brought up by a process that did not say who it is"
    return "%s hosts, quorum %s, %s" % (state.get("hosts", "?"), state.get("quorum", "?"), by)
