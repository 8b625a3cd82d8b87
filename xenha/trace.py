"""An operator's trace of one OCF action: what ocf-shellfuncs' ``ocf_start_trace``
(``set -x``) gives the shell agents, for xenha's Python ones.

Turned on per resource with the ``trace_ra`` attribute (crmsh: ``crm resource trace
RSC OP``; it reaches the agent as ``OCF_RESKEY_trace_ra``) or with ``OCF_TRACE_RA``
in the environment. The trace goes to ``OCF_TRACE_FILE`` - a file descriptor 3 to 9
open for writing, or an absolute path - or else to
``$OCF_RESKEY_trace_dir/<type>/<instance>.<action>.<YYYY-MM-DD.HH:MM:SS>`` (the
directory defaults to ``$HA_VARLIB/trace_ra``, HA_VARLIB to /var/lib/heartbeat; the
file is readable by root only), or to stderr on a terminal. It holds the cluster's
environment variables (OCF_*, HA_*, PCMK_*, CRM_*, PATH), then every line of xenha's own
code as it runs, like bash's trace::

    + 12:00:01: ocf_agents.xen_vm:monitor:422: uuid = _vm_uuid(res)

and every log message, debug ones included: XAPI calls and the commands run are
logged at debug level. Imported only when a trace is asked for.
"""

import linecache
import os
import sys
import time

from xenha import log

_XENHA = os.path.dirname(os.path.abspath(__file__))
# Node-side code: the library and the OCF agents; not the lab, not this module or the log.
_ROOTS = (_XENHA + os.sep, os.path.join(os.path.dirname(_XENHA), "ocf_agents") + os.sep)
_SKIP = (os.path.join(_XENHA, "lab") + os.sep, os.path.join(_XENHA, "trace.py"), log.__file__)
DEFAULT_VARLIB = "/var/lib/heartbeat"
# The environment a trace shows: what the cluster gave the agent (not the whole process
# environment, which may hold anything of the machine's).
CLUSTER_VARIABLES = ("OCF_", "HA_", "PCMK_", "CRM_", "__OCF_", "PATH")


def destination(env, rtype, instance, action, log_=log):
    """Where the trace goes: a file descriptor (int), a path, or None for stderr; a bad
    OCF_TRACE_FILE is said in ``log_`` (the agent's log)."""
    name = env.get("OCF_TRACE_FILE", "")
    if len(name) == 1 and name in "3456789":
        return int(name)
    if name.startswith("/") and "/" in name[2:]:
        return name
    if name:
        log_.warning(
            "OCF_TRACE_FILE must be set to either FD (open for writing) or absolute file path"
        )
    if sys.stdin.isatty() or not (instance and action):
        return None
    directory = env.get("OCF_RESKEY_trace_dir") or os.path.join(
        env.get("HA_VARLIB") or DEFAULT_VARLIB, "trace_ra"
    )
    stamp = time.strftime("%Y-%m-%d.%H:%M:%S")
    return os.path.join(directory, rtype, "%s.%s.%s" % (instance, action, stamp))


def start(res):
    """Start tracing the action of ``res`` (a :class:`xenha.ocf.Resource`); the
    :class:`Trace`, or None when its destination cannot be written (said in the log)."""
    dest = destination(res.env, rtype_of(res), res.instance, res.action, res.log)
    try:
        if dest is None:
            out, owned = sys.stderr, False
        elif isinstance(dest, int):
            out, owned = os.fdopen(dest, "w", closefd=False), True
        else:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            out, owned = os.fdopen(fd, "w"), True
    except OSError as e:
        res.log.warning("%s not writable, trace not going to happen: %s", dest, e)
        return None
    trace = Trace(out, owned, res.log)
    trace.begin(res)
    return trace


class Trace:
    """Writes the trace to ``out`` (closed at :meth:`stop` when ``owned``)."""

    def __init__(self, out, owned, log_):
        self.out = out
        self.owned = owned
        self.log = log_
        self._ours = {}

    def begin(self, res):
        self._write(
            "trace of %s %s, pid %d; environment:" % (rtype_of(res), res.action, os.getpid())
        )
        for key in sorted(k for k in res.env if k.startswith(CLUSTER_VARIABLES)):
            self._write_raw("%s=%s\n" % (key, res.env[key]))
        self.log.trace = self
        sys.settrace(self._call)

    def stop(self):
        sys.settrace(None)
        self.log.trace = None
        self._write("end of trace")
        try:
            self.out.flush()
            if self.owned:
                self.out.close()
        except (OSError, ValueError):
            pass

    def message(self, level, text):
        self._write("%s: %s" % (level.upper(), text))

    def _write(self, text):
        self._write_raw("+ %s: %s\n" % (time.strftime("%H:%M:%S"), text))

    def _write_raw(self, line):
        try:
            self.out.write(line)
        except (OSError, ValueError):  # a full disk or a closed descriptor ends no action
            pass

    def _traced(self, filename):
        ours = self._ours.get(filename)
        if ours is None:
            path = os.path.abspath(filename)
            ours = path.startswith(_ROOTS) and not path.startswith(_SKIP)
            self._ours[filename] = ours
        return ours

    def _call(self, frame, event, arg):
        return self._line if self._traced(frame.f_code.co_filename) else None

    def _line(self, frame, event, arg):
        code = frame.f_code
        where = "%s:%s:%d" % (frame.f_globals.get("__name__"), code.co_name, frame.f_lineno)
        if event == "line":
            source = linecache.getline(code.co_filename, frame.f_lineno).strip()
            self._write("%s: %s" % (where, source))
        elif event == "exception":
            self._write("%s: raised %s: %s" % (where, arg[0].__name__, arg[1]))
        return self._line


def rtype_of(res):
    """OCF_RESOURCE_TYPE (Pacemaker sets it), else the agent's name."""
    return res.env.get("OCF_RESOURCE_TYPE") or res.agent.name
