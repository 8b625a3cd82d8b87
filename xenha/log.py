"""One log path per process: the agent's :class:`Log`, and the functions library code logs with.

An agent process builds one Log with its tag when it runs its action (an OCF
agent ``agent(instance)`` under resource-agents' HA_* conventions, see
:func:`xenha.ocf.resource_log`; a fence agent or the alert agent its name)
and installs it for the action (:func:`using`). Library code (xenha.xapi,
xenha.tls and anything else that warns) calls :func:`warning` (or
:func:`debug`, :func:`info`, :func:`error`): the message goes to the
installed Log - the agent's syslog tag, file and stderr - or, when no agent
installed one (the CLI, the lab, the tests), warnings and errors go to stderr.

Agents run every few seconds, so this stays light: :mod:`syslog` is imported
with the first syslog line, :mod:`logging` only by :func:`bridge_stdlib`, for
a process whose third-party libraries (paramiko, pysnmp, pyghmi) log through it.
"""

import os
import sys
import time

LEVELS = ("debug", "info", "warning", "error", "critical")
PRIORITIES = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}  # syslog's
DATEFMT = "%b %d %T "  # resource-agents' default HA_DATEFMT

# The two styles of line. OCF agents follow resource-agents: "LEVEL: text" in syslog, the
# file and stderr ("xen-vm(vm1) WARNING: text"). Commands (fence agents, the alert agent)
# write "fence_x: text" for steps and "fence_x: error: text" on stderr, the bare text to
# syslog.
OCF, COMMAND = "ocf", "command"


class Log:
    """Where one process's messages go.

    * syslog under ``tag`` (with the pid when ``pid``) and ``facility`` (a name such as
      ``daemon`` or ``local5``; None: no syslog);
    * ``logfile``, one ``tag[pid]:\t<date>LEVEL: text`` line each, the date in
      ``datefmt`` (strftime); debug lines go to ``debuglog`` instead when there is
      one, which also gets every other line;
    * stderr, for ``stderr`` and above (a level name; None: nothing);
    * ``trace`` (an object with ``message(level, text)``, see :mod:`xenha.trace`):
      every message, debug included, while an operator traces the action.

    Debug messages are written only with ``debug`` (and to a trace).
    """

    def __init__(
        self,
        tag,
        facility=None,
        logfile=None,
        debug=False,
        stderr="debug",
        style=OCF,
        debuglog=None,
        datefmt=DATEFMT,
        pid=True,
    ):
        self.tag = tag
        self.facility = facility
        self.logfile = logfile
        self.debug_on = debug
        self.stderr = stderr
        self.style = style
        self.debuglog = debuglog
        self.datefmt = datefmt
        self.pid = pid
        self.trace = None
        self._syslog = None

    def debug(self, msg, *args):
        self.emit("debug", msg, args)

    def info(self, msg, *args):
        self.emit("info", msg, args)

    def warning(self, msg, *args):
        self.emit("warning", msg, args)

    def error(self, msg, *args):
        self.emit("error", msg, args)

    def critical(self, msg, *args):
        self.emit("critical", msg, args)

    def emit(self, level, msg, args=(), stderr=True):
        """Write ``msg % args`` at ``level`` everywhere this Log writes (but not to
        stderr when ``stderr`` is False: the text is already there, as an exit reason)."""
        debug = level == "debug"
        if debug and not self.debug_on and self.trace is None:
            return
        if args:
            msg = msg % args
        if self.trace is not None:
            self.trace.message(level, msg)
        if debug and not self.debug_on:
            return
        if self.facility:
            self._write_syslog(level, msg)
        if self.logfile and not (debug and self.debuglog):
            self._write_file(self.logfile, level, msg)
        if self.debuglog:
            self._write_file(self.debuglog, level, msg)
        if stderr and self.stderr and LEVELS.index(level) >= LEVELS.index(self.stderr):
            try:
                sys.stderr.write(self._stderr_line(level, msg))
            except (OSError, ValueError):  # nobody reads it any more: a lost line fails nothing
                pass

    def _stderr_line(self, level, msg):
        if self.style == OCF:
            return "%s %s: %s\n" % (self.tag, level.upper(), msg)
        if level == "info":
            return "%s: %s\n" % (self.tag, msg)
        return "%s: %s: %s\n" % (self.tag, level, msg)

    def _write_file(self, path, level, msg):
        tag = "%s[%d]" % (self.tag, os.getpid()) if self.pid else self.tag
        line = "%s:\t%s%s: %s\n" % (tag, time.strftime(self.datefmt), level.upper(), msg)
        try:
            with open(path, "a") as f:
                f.write(line)
        except OSError:
            pass

    def _write_syslog(self, level, msg):
        import syslog

        if self._syslog is None:
            facility = getattr(syslog, "LOG_" + self.facility.upper(), syslog.LOG_DAEMON)
            syslog.openlog(self.tag, syslog.LOG_PID if self.pid else 0, facility)
            self._syslog = syslog
        if self.style == OCF:
            msg = "%s: %s" % (level.upper(), msg)
        # syslog() refuses a message with a NUL in it.
        self._syslog.syslog(PRIORITIES[level], msg.replace("\x00", "\n"))


_current = None


def current():
    """The Log this process's action installed, or None."""
    return _current


class using:
    """``with using(log):`` - library messages go to ``log`` until the block ends."""

    def __init__(self, log):
        self.log = log
        self._previous = None

    def __enter__(self):
        global _current
        self._previous, _current = _current, self.log
        return self.log

    def __exit__(self, *exc):
        global _current
        _current = self._previous


def _emit(level, msg, args):
    if _current is not None:
        _current.emit(level, msg, args)
    elif LEVELS.index(level) >= LEVELS.index("warning"):
        sys.stderr.write("xenha: %s: %s\n" % (level, msg % args if args else msg))


def debug(msg, *args):
    _emit("debug", msg, args)


def info(msg, *args):
    _emit("info", msg, args)


def warning(msg, *args):
    """Log a warning to this process's Log (stderr when no agent installed one)."""
    _emit("warning", msg, args)


def error(msg, *args):
    _emit("error", msg, args)


def critical(msg, *args):
    """What an operator must act on now (a meatware fence waiting for a person)."""
    _emit("critical", msg, args)


_bridged = []


def bridge_stdlib(level="warning"):
    """Send the standard library's ``logging`` records of ``level`` and above (what
    third-party libraries emit) to this process's Log, named after their logger.
    Imports :mod:`logging`: call it only where such a library is about to be used."""
    import logging

    if _bridged:
        return

    class Bridge(logging.Handler):
        def emit(self, record):
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a library's bad format string
                text = str(record.msg)
            if record.levelno >= logging.CRITICAL:
                name = "critical"
            elif record.levelno >= logging.ERROR:
                name = "error"
            elif record.levelno >= logging.WARNING:
                name = "warning"
            else:
                name = "info" if record.levelno >= logging.INFO else "debug"
            _emit(name, "%s: %s", (record.name, text))

    handler = Bridge(getattr(logging, level.upper()))
    logging.getLogger().addHandler(handler)
    _bridged.append(handler)
