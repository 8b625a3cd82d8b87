"""Running commands, tracking the lab's own processes (so cleanup kills only ours), and
waiting for a condition."""

import os
import signal
import subprocess
import time
from pathlib import Path

from xenha.errors import XenhaError


def run(argv, check=True, timeout=60, **kw):
    """Run a command and return its output; a failure is a XenhaError naming the command."""
    try:
        r = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw
        )
    except subprocess.TimeoutExpired:
        raise XenhaError("%s did not finish within %ss" % (" ".join(argv), timeout)) from None
    if check and r.returncode != 0:
        raise XenhaError(
            "%s failed (exit %d): %s" % (" ".join(argv), r.returncode, r.stdout.strip())
        )
    return r.stdout


def spawn(argv, log, pidfile):
    """Start a lab daemon in its own session, its output to the file ``log``, recorded in
    ``pidfile`` (so ``xenha lab down`` kills it); the Popen."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    PidFile(pidfile).write(proc.pid)
    return proc


def wait_for_line(proc, log, text, deadline, what):
    """Wait until ``text`` shows in ``proc``'s ``log``; its death or the (monotonic)
    ``deadline`` is an error naming ``what``."""
    while text not in Path(log).read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise XenhaError("%s did not start: %s" % (what, Path(log).read_text()[-500:]))
        time.sleep(0.05)


def poll(predicate, timeout, interval=0.05):
    """Call ``predicate`` until it returns something true, at most ``timeout`` seconds
    (monotonic); that value, or None if it never did."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value or None
        time.sleep(interval)


def start_time(pid):
    """The kernel's start time of a live process (field 22 of /proc/PID/stat); None if gone."""
    try:
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


class PidFile:
    """A PID recorded with its start time, so a recycled PID is never mistaken for ours."""

    def __init__(self, path):
        self.path = Path(path)

    def write(self, pid):
        self.path.write_text("%d %d\n" % (pid, start_time(pid)))

    def pid(self):
        """The recorded process if it is still the same process, else None."""
        try:
            pid, started = (int(x) for x in self.path.read_text().split())
        except (OSError, ValueError):
            return None
        return pid if start_time(pid) == started else None

    def kill(self, timeout=10.0):
        """SIGKILL the process (if still ours), wait until it is gone, forget it."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while start_time(pid) is not None and time.monotonic() < deadline:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.02)
        self.path.unlink(missing_ok=True)
