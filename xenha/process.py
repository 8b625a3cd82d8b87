"""This process and its children: the one way node-side code starts a child
(:func:`run`) and the one way an agent process ends (:func:`exit_now`).

A child runs in its own process group. When its bound runs out, or anything
interrupts the wait (a fence agent's alarm, a signal handler's exception), the
whole group is killed and reaped, so neither the command nor what it started
outlives the caller: a password script or Pacemaker tool left running would hold
the caller's pipes and keep doing its work after the caller gave up.

Pacemaker starts an agent every few seconds per resource. Once its exit code is
known, the interpreter's own teardown (freeing every imported module: the XenAPI
SDK, pysnmp, pyghmi) costs about as much as a monitor's XAPI call, and nothing in
it matters to the agent: its output is flushed, its files are closed and its
syslog messages already sent. So it ends with ``os._exit``.
"""

import os
import sys

from xenha.errors import XenhaError


class CommandTimeout(XenhaError):
    """The command did not finish within its bound; it and its process group were killed."""


def run(argv, timeout, input=None, env=None):
    """(exit code, stdout, stderr) of ``argv``, run without a shell, as text.

    ``input`` (text) goes to its stdin, which is otherwise /dev/null. Raises OSError
    when it cannot be started and CommandTimeout after ``timeout`` seconds.
    """
    import subprocess  # not at the top: every agent imports exit_now, few run a command

    from xenha import log

    log.debug("running %s", " ".join(argv))
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise CommandTimeout("%s did not finish within %gs" % (argv[0], timeout)) from None
    except BaseException:
        _kill_group(proc)
        raise
    return proc.returncode, out, err


def _kill_group(proc):
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group is gone already
        pass
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def exit_now(code):
    """Flush stdout and stderr, then end the process with ``code`` (an int)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # output lost (closed pipe): as the interpreter, not 0
        code = code or 120
    os._exit(code)
