"""OCF 1.1 resource-agent plumbing: metadata, typed parameters, exit codes and reasons.

An agent module declares an :class:`ResourceAgent` (its metadata and parameters), then
one short function per action, registered with ``@AGENT.action(...)``; its
``main()`` calls ``AGENT.run()``. Each handler receives a :class:`Resource`
(typed parameters, Pacemaker meta attributes, probe detection, logging) and
returns an exit code or raises :class:`OcfError` with an exit reason.

Conventions follow resource-agents' ``ocf.py`` and the OCF spec: instance
parameters come from ``OCF_RESKEY_<name>``, exit reasons are written to stderr
after the ``ocf-exit-reason:`` prefix, a probe is a monitor with interval 0,
and a missing required parameter never makes ``stop`` fail. This module is
imported on every monitor, so it only uses the standard library's light parts.
"""

import os
import sys
import types

from xenha import log, values
from xenha.deadline import Deadline
from xenha.process import exit_now

SUCCESS = 0
ERR_GENERIC = 1
ERR_ARGS = 2
ERR_UNIMPLEMENTED = 3
ERR_PERM = 4
ERR_INSTALLED = 5
ERR_CONFIGURED = 6
NOT_RUNNING = 7
RUNNING_PROMOTED = 8
FAILED_PROMOTED = 9

OCF_VERSION = "1.1"
ROLES = ("Promoted", "Unpromoted")
# Content types both resource-agents' metadata.rng and ra-api-1.dtd accept.
TYPES = ("string", "integer", "boolean")
# A ``parse`` for integer parameters that must be above zero.
positive = values.positive


class OcfError(Exception):
    """End the action with ``rc``; ``reason`` becomes the OCF exit reason."""

    def __init__(self, rc, reason):
        Exception.__init__(self, reason)
        self.rc = rc
        self.reason = reason


def configured(reason):
    """The configuration is wrong: OCF_ERR_CONFIGURED with a reason (for ``raise``)."""
    return OcfError(ERR_CONFIGURED, reason)


def generic(reason):
    """The action failed: OCF_ERR_GENERIC with a reason (for ``raise``)."""
    return OcfError(ERR_GENERIC, reason)


class Parameter(values.Setting):
    """One instance parameter: metadata, and how its value is parsed.

    ``parse`` (optional) turns the typed value into the one handlers see and
    raises ValueError with a message for a bad one; it runs after the type's
    own check (:mod:`xenha.values`). Empty values count as unset.
    """

    TYPES = TYPES

    def __init__(
        self,
        name,
        shortdesc,
        longdesc,
        type="string",
        default=None,
        required=False,
        unique=False,
        reloadable=False,
        parse=None,
    ):
        values.Setting.__init__(self, name, type, default, required)
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.unique = unique
        self.reloadable = reloadable
        self.transform = parse

    def value(self, text):
        """The typed value of ``text`` (None or empty = the default)."""
        if text is None or text == "":
            text = self.default
        if text is None:
            return None
        try:
            value = self.parse(str(text))
            return self.transform(value) if self.transform else value
        except ValueError as e:
            raise configured("parameter %s: %s" % (self.name, e)) from None

    def to_xml(self):
        attrs = ' name="%s"' % values.xml_escape(self.name)
        if self.unique:
            attrs += ' unique="1"'
        if self.required:
            attrs += ' required="1"'
        if self.reloadable:
            attrs += ' reloadable="1"'
        default = "" if self.default is None else ' default="%s"' % values.xml_escape(self.default)
        return (
            "  <parameter%s>\n"
            '   <longdesc lang="en">%s</longdesc>\n'
            '   <shortdesc lang="en">%s</shortdesc>\n'
            '   <content type="%s"%s/>\n'
            "  </parameter>\n"
        ) % (
            attrs,
            values.xml_escape(self.longdesc),
            values.xml_escape(self.shortdesc),
            self.type,
            default,
        )


def _as_default(parameter):
    if parameter.default is None:
        return "as if it were unset"
    return "with its default %r" % parameter.default


class ActionSpec:
    """One ``<action>`` advertised in the metadata (an action may have several)."""

    def __init__(self, name, timeout, interval=None, depth=None, role=None):
        if not isinstance(timeout, (int, float)):
            raise ValueError("action %s: timeout must be a number of seconds" % name)
        if role is not None and role not in ROLES:
            raise ValueError("action %s: role must be one of %s" % (name, ", ".join(ROLES)))
        self.name = name
        self.timeout = timeout
        self.interval = interval
        self.depth = depth
        self.role = role

    def to_xml(self):
        attrs = ' name="%s" timeout="%ds"' % (self.name, self.timeout)
        if self.interval is not None:
            attrs += ' interval="%ds"' % self.interval
        if self.depth is not None:
            attrs += ' depth="%d"' % self.depth
        if self.role is not None:
            attrs += ' role="%s"' % self.role
        return "  <action%s/>\n" % attrs


def resource_log(agent, instance, env):
    """The :class:`xenha.log.Log` of one action, under resource-agents' conventions
    (ocf-shellfuncs' ocf_log; docs/ocf.md compares them):

    * ``HA_LOGFACILITY``: syslog with that facility (``none`` or empty: no syslog);
    * ``HA_LOGFILE``: a file; ``HA_DEBUGLOG``: a file for debug lines, which also gets
      every other line (the same file as HA_LOGFILE counts once);
    * ``HA_DATEFMT``: strftime format of the files' dates (default ``%b %d %T ``);
    * ``HA_LOGTAG``: the tag instead of ``agent(instance)[pid]``;
    * stderr when there is neither syslog nor HA_LOGFILE, and always on a terminal;
    * ``HA_debug``: debug lines only when set and not 0.
    """
    facility = env.get("HA_LOGFACILITY", "")
    facility = "" if facility == "none" else facility
    logfile = env.get("HA_LOGFILE", "")
    debuglog = env.get("HA_DEBUGLOG", "")
    logtag = env.get("HA_LOGTAG", "")
    return log.Log(
        logtag or "%s(%s)" % (agent, instance or "-"),
        facility=facility or None,
        logfile=logfile or None,
        debuglog=debuglog if debuglog and debuglog != logfile else None,
        datefmt=env.get("HA_DATEFMT") or log.DATEFMT,
        pid=not logtag,
        debug=env.get("HA_debug", "0") not in ("", "0"),
        stderr="debug" if (not facility and not logfile) or sys.stderr.isatty() else None,
    )


class Resource:
    """What one invocation knows: action, typed parameters, meta attributes, log."""

    def __init__(self, agent, action, env):
        self.agent = agent
        self.action = action
        self.env = env
        self.instance = env.get("OCF_RESOURCE_INSTANCE", "")
        self.log = resource_log(agent.name, self.instance, env)
        self.params = types.SimpleNamespace()
        self._exit_reason = None
        # The action's whole time, counted from now (the process has just started).
        self.budget = Deadline(self.timeout)

    def meta(self, name, default=None):
        """A Pacemaker meta attribute (``OCF_RESKEY_CRM_meta_<name>``, dashes as underscores)."""
        return self.env.get("OCF_RESKEY_CRM_meta_" + name.replace("-", "_"), default)

    @property
    def interval(self):
        """The operation's interval in seconds (0 for a one-shot operation)."""
        try:
            return int(self.meta("interval", "0") or "0") / 1000.0
        except ValueError:
            return 0.0

    @property
    def is_probe(self):
        """A probe: monitor with interval 0, asking whether the resource is active here."""
        return self.action == "monitor" and self.interval == 0

    @property
    def depth(self):
        """OCF_CHECK_LEVEL (else OCF_RESKEY_OCF_CHECK_LEVEL, as ocf-shellfuncs reads it):
        0 (cheap), 10 (medium) or 20 (thorough)."""
        level = self.env.get("OCF_CHECK_LEVEL") or self.env.get("OCF_RESKEY_OCF_CHECK_LEVEL")
        try:
            return int(level or "0")
        except ValueError:
            return 0

    @property
    def timeout(self):
        """Seconds this action may take: Pacemaker's timeout, else the advertised one."""
        try:
            return int(self.meta("timeout", "")) / 1000.0
        except ValueError:
            specs = [s for s in self.agent.specs if s.name == self.action]
            return float(specs[0].timeout) if specs else 20.0

    def not_running(self, reason):
        """OCF_NOT_RUNNING; unexpected outside a probe, so then it carries a reason."""
        if self.is_probe or self.action != "monitor":
            self.log.info(reason)
        else:
            self.exit_reason(reason)
        return NOT_RUNNING

    def exit_reason(self, reason):
        """Print the OCF exit reason (once; Pacemaker takes the first) and log it."""
        if self._exit_reason is not None:
            self.log.error(reason)
            return
        self._exit_reason = reason
        prefix = self.env.get("OCF_EXIT_REASON_PREFIX") or "ocf-exit-reason:"
        sys.stderr.write("%s%s\n" % (prefix, reason))
        sys.stderr.flush()
        self.log.emit("error", reason, stderr=False)  # on stderr already, as ocf_exit_reason


class ResourceAgent:
    """An OCF resource agent: its metadata, parameters and action handlers."""

    def __init__(self, name, shortdesc, longdesc, version, parameters):
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.version = version
        self.parameters = list(parameters)
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("agent %s: a parameter is declared twice" % name)
        self.specs = []
        self.handlers = {}
        self.action("meta-data", timeout=5)(self._print_metadata)

    def action(self, name, timeout=None, interval=None, depth=None, role=None):
        """Decorator: handle ``name`` and advertise it (stack it for several entries).
        ``name`` may be an :class:`ActionSpec` declared where the generator reads it too."""
        spec = name
        if not isinstance(spec, ActionSpec):
            spec = ActionSpec(name, timeout, interval, depth, role)
        self.specs.append(spec)

        def register(func):
            self.handlers[spec.name] = func
            return func

        return register

    def metadata(self):
        return (
            '<?xml version="1.0"?>\n'
            '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">\n'
            '<resource-agent name="%s" version="%s">\n'
            " <version>%s</version>\n"
            ' <longdesc lang="en">%s</longdesc>\n'
            ' <shortdesc lang="en">%s</shortdesc>\n'
            " <parameters>\n%s </parameters>\n"
            " <actions>\n%s </actions>\n"
            "</resource-agent>\n"
        ) % (
            values.xml_escape(self.name),
            values.xml_escape(self.version),
            OCF_VERSION,
            values.xml_escape(self.longdesc),
            values.xml_escape(self.shortdesc),
            "".join(p.to_xml() for p in self.parameters),
            "".join(s.to_xml() for s in self.specs),
        )

    def _print_metadata(self, res):
        sys.stdout.write(self.metadata())
        return SUCCESS

    def usage(self):
        return "usage: %s {%s}\n" % (self.name, "|".join(sorted(self.handlers)))

    def _load_params(self, res):
        """Parse every parameter into ``res.params``; a missing required one or a bad value
        is an error (ERR_CONFIGURED), except for stop: with a required one missing it has
        nothing it could have started, and a bad value gets the parameter's default (with
        a warning), since a stop that fails makes Pacemaker fence the node."""
        for p in self.parameters:
            text = res.env.get("OCF_RESKEY_" + p.name)
            try:
                value = p.value(text)
            except OcfError as e:
                if res.action != "stop":
                    raise
                value = p.value(None)
                res.log.warning("%s; stop goes on %s", e.reason, _as_default(p))
            setattr(res.params, p.name, value)
        missing = [
            p.name for p in self.parameters if p.required and getattr(res.params, p.name) is None
        ]
        if missing:
            reason = "required parameter %s is not set" % ", ".join(missing)
            if res.action == "stop":
                res.log.warning("%s; nothing to stop", reason)
                raise OcfError(SUCCESS, None)
            raise configured(reason)

    def execute(self, action, env):
        """Run one action; return its exit code (never raises)."""
        res = Resource(self, action, env)
        with log.using(res.log):
            trace = self._start_trace(res)
            try:
                return self._execute(res, action)
            finally:
                if trace is not None:
                    trace.stop()

    @staticmethod
    def _start_trace(res):
        """An operator's trace of the action (ocf-shellfuncs: OCF_TRACE_RA, trace_ra), or
        None; a trace that cannot be written never fails the action (a failed stop fences)."""
        if not values.is_true(res.env.get("OCF_TRACE_RA") or res.env.get("OCF_RESKEY_trace_ra")):
            return None
        try:
            from xenha import trace as tracing

            return tracing.start(res)
        except Exception as e:
            res.log.warning("cannot trace %s: %s: %s", res.action, type(e).__name__, e)
            return None

    def _execute(self, res, action):
        handler = self.handlers.get(action)
        if handler is None:
            sys.stderr.write(self.usage())
            return ERR_UNIMPLEMENTED
        try:
            if action != "meta-data":
                self._load_params(res)
            rc = handler(res)
            return SUCCESS if rc is None else rc
        except OcfError as e:
            if e.reason:
                res.exit_reason(e.reason)
            return e.rc
        except Exception as e:
            import traceback

            res.log.error("%s failed unexpectedly:\n%s", action, traceback.format_exc())
            res.exit_reason("%s failed: %s: %s" % (action, type(e).__name__, e))
            return ERR_GENERIC

    def run(self, argv=None, env=None):
        """Entry point of the agent executable: run ``argv[1]`` and exit with its code
        (:func:`xenha.process.exit_now`: the process ends here)."""
        argv = sys.argv if argv is None else argv
        env = os.environ if env is None else env
        action = argv[1] if len(argv) > 1 else env.get("__OCF_ACTION", "")
        if action in ("usage", "help", "-h", "--help"):
            sys.stdout.write(self.usage())
            exit_now(SUCCESS)
        if not action:
            sys.stderr.write(self.usage())
            exit_now(ERR_ARGS)
        exit_now(self.execute(action, env))
