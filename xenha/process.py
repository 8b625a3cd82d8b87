"""This process and its children: the one way node-side code starts a child
(:func:`run`) and the one way an agent process ends (:func:`exit_now`).

A command never outlives the process that ran it, nor does anything the command
started:

* each command runs under a small ``/bin/sh`` supervisor, the leader of a process
  group (and session) of its own that the command and its children share. When
  ``run``'s bound runs out, or anything interrupts the wait (a fence agent's alarm,
  a signal handler's exception), that whole group is killed and reaped;
* the supervisor asks the kernel for SIGTERM when the agent dies
  (``PR_SET_PDEATHSIG``), however it dies: Pacemaker kills a timed-out agent's
  process group (``kill(-pid, SIGKILL)``, lib/common/mainloop.c), a synchronous
  action only its pid (lib/services/services_linux.c), the OOM killer one process.
  On SIGTERM the supervisor kills its group: the command and its children with it.

The supervisor, rather than the command in the agent's own process group with the
death signal set on the command: the death signal reaches only the direct child, so
a fence script's own children would carry on after a kill of the agent's pid alone,
and the agent could not kill its command's group on a timeout without killing
itself. A command that moves itself out of the group (``setsid``) escapes both.

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


# The supervisor: runs "$@" (stdin from fd 3, the caller's input) in the background and
# waits for it; on SIGTERM (the agent died) it SIGKILLs its whole process group.
SUPERVISOR = 'exec 3<&0; trap "kill -KILL 0" TERM; "$@" <&3 3<&- & wait $!'
PR_SET_PDEATHSIG = 1  # prctl(2)


def run(argv, timeout, input=None, env=None):
    """(exit code, stdout, stderr) of ``argv``, run without a shell, as text.

    ``input`` (text) goes to its stdin, which is otherwise /dev/null. Raises OSError
    when it cannot be started and CommandTimeout after ``timeout`` seconds. A command
    killed by signal N exits 128+N, as a shell reports it.
    """
    import subprocess  # not at the top: every agent imports exit_now, few run a command

    from xenha import log

    log.debug("running %s", " ".join(argv))
    proc = _start(
        argv,
        env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
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


def _start(argv, env, stdin, stderr, **text):
    """``argv`` started under the supervisor, its stdout a pipe (text), in a process group
    and session of its own, dying with this process."""
    import subprocess

    _check_executable(argv[0], env)
    return subprocess.Popen(
        ["/bin/sh", "-c", SUPERVISOR, "xenha-run"] + list(argv),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=stderr,
        universal_newlines=True,
        env=env,
        start_new_session=True,
        preexec_fn=_dies_with(os.getpid()),
        **text,
    )


class Lines:
    """A command that runs until it ends or its reader stops (``journalctl --follow``):
    its standard output line by line as it writes them, under the same supervisor as
    :func:`run`. ``with Lines(argv) as out: for line in out: ...``; leaving the block, by
    its end, a break or an exception, kills the command's process group. Once the output
    has ended, :meth:`wait` gives (exit code, stderr). Raises OSError as :func:`run` does.
    """

    def __init__(self, argv, env=None):
        import subprocess
        import tempfile

        from xenha import log

        log.debug("reading %s", " ".join(argv))
        # A file, not a pipe: it never fills up while only stdout is read. Closed on exit.
        self._errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        try:
            self._proc = _start(
                argv,
                env,
                stdin=subprocess.DEVNULL,
                stderr=self._errors,
                encoding="utf-8",
                errors="replace",
            )
        except BaseException:
            self._errors.close()
            raise

    def __iter__(self):
        return iter(self._proc.stdout)

    def wait(self):
        """(exit code, stderr) of the command, once its output has ended."""
        rc = self._proc.wait()
        self._errors.seek(0)
        return rc, self._errors.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._proc.poll() is None:
            _kill_group(self._proc)
        else:
            self._proc.stdout.close()
        self._errors.close()


def _check_executable(name, env):
    """The OSError exec would raise for ``name`` (searched on ``env``'s PATH), raised here:
    the supervisor would only say "not found" and exit 127."""
    import errno
    import shutil

    if shutil.which(name, path=os.pathsep.join(os.get_exec_path(env))) is not None:
        return
    if "/" in name and os.path.exists(name):
        code = errno.EISDIR if os.path.isdir(name) else errno.EACCES
        raise OSError(code, os.strerror(code), name)
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)


def _dies_with(parent):
    """A preexec_fn: SIGTERM to the child when ``parent`` (this process) dies, and an end
    at once if it died before that was set."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only calls it

    def child():
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return child


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
