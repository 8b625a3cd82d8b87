"""Run a fence agent: options in, one action, an honest exit code out.

Exit codes are fence-agents': 0 success, 1 failure; ``status`` exits 0 for
ON and 2 for OFF. ``off`` and ``reboot`` succeed only once every target has
been read back OFF within ``power_timeout``; an unreachable device, refused
credentials or an unreadable state is a failure, reported on stderr and to
syslog. Each device call is bounded by ``login_timeout``. Every agent takes
fence-agents' default options too (``delay``, ``quiet``, ``debug_file``, ...);
those that mean nothing to it are accepted with a warning.
"""

import contextlib
import signal
import sys
import time

from xenha import __version__
from xenha.deadline import Deadline
from xenha.errors import XenhaError
from xenha.fencing import options as o
from xenha.fencing.device import OFF, ON, FenceError, Unreachable
from xenha.log import COMMAND, Log, bridge_stdlib, using
from xenha.process import exit_now

EXIT_OK, EXIT_FAIL, EXIT_OFF = 0, 1, 2
POLL_FAST, POLL_FAST_FOR, POLL_SLOW = 0.1, 3.0, 0.5


def _pause(elapsed):
    """Poll briskly while a real switch is likely to settle, then ease off."""
    return POLL_FAST if elapsed < POLL_FAST_FOR else POLL_SLOW


class FenceAgent:
    """What makes one fence agent: its name, texts, options and device class.

    ``options`` are the agent's own; fence-agents' default set is added to them
    (:func:`~xenha.fencing.options.fence_agents_defaults`), as fence-agents adds it to each
    of its agents.
    """

    def __init__(self, name, shortdesc, longdesc, device, options, vendor_url="", actions=None):
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.device = device
        self.vendor_url = vendor_url
        self.options = tuple(options) + o.fence_agents_defaults(
            device.can_power_on, device.plug_lists
        )
        names = [s.name for s in self.options]
        assert len(names) == len(set(names)), names
        if actions is None:
            actions = ["on", "off", "reboot", "status"]
            if device.can_list:
                actions.append("list")
            actions += ["monitor", "metadata", "validate-all"]
        self.actions = tuple(actions)


class _Expired(BaseException):
    """Raised by the alarm; a BaseException so libraries' ``except Exception`` cannot eat it."""


@contextlib.contextmanager
def bounded(seconds, what):
    """Raise Unreachable when the block takes longer than ``seconds`` (main thread only).

    Some libraries wrap whatever interrupts them in their own exception, so
    any exception after the alarm fired counts as the timeout.
    """
    fired = []

    def expire(signum, frame):
        fired.append(True)
        raise _Expired()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    except BaseException:
        if fired:
            raise Unreachable("%s: no answer within %gs" % (what, seconds)) from None
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fence_log(name):
    """The :class:`xenha.log.Log` of a fence agent: syslog (daemon) under its name, and
    stderr for warnings and errors - steps too once ``verbose`` is given."""
    return Log(name, facility="daemon", stderr="warning", style=COMMAND)


class Runner:
    """One invocation: the parsed options, the log and (opened lazily) the device."""

    def __init__(self, agent, opts, log, started):
        self.agent = agent
        self.opts = opts
        self.log = log
        self.started = started  # time.monotonic() when the agent started, for ``delay``
        self._device = None
        self._secret = None

    def secret(self):
        if self._secret is None:
            self._secret = self.opts.secret()
        return self._secret

    @property
    def device(self):
        if self._device is None:
            bridge_stdlib()  # the device's library (paramiko, pysnmp, pyghmi) may log
            self._device = self.call("connect", self.agent.device, self.opts, self.secret)
            negotiated = self._device.negotiated()
            if negotiated:
                self.log.info("connected: %s" % negotiated)
        return self._device

    def call(self, what, fn, *args):
        try:
            with bounded(self.opts.login_timeout, what):
                return fn(*args)
        except Unreachable as e:
            hint = self.agent.device.unreachable_hint
            raise Unreachable("%s (%s)" % (e, hint) if hint not in str(e) else str(e)) from None

    def read(self, target):
        state = self.call("read power state", self.device.get_power, target)
        if state not in (ON, OFF):
            raise FenceError("device reported an unknown power state %r" % (state,))
        return state

    def plug(self):
        """The plug the action is for (None for a device without plugs); UsageError when
        it is missing, found before any wait or device call."""
        if not self.agent.device.plugs:
            return None
        if not self.opts.plug:
            raise o.UsageError("action %s needs plug (-n / --plug, or port=)" % self.opts.action)
        return self.opts.plug

    def targets(self, plug):
        if plug is None:
            return [None]
        found = self.call("resolve plug", self.device.targets, plug)
        if not found:
            raise FenceError("no outlet or system matches plug %r" % plug)
        return found

    def hold_off(self):
        """fence-agents' ``delay``: touch the device only ``delay`` seconds after the agent
        started, so that in a two-node fence race the node without a delay goes first."""
        left = self.opts.delay - (time.monotonic() - self.started)
        if left > 0:
            self.log.info("delay=%g: waiting %.1fs before fencing" % (self.opts.delay, left))
            time.sleep(left)

    def switch(self, targets, state):
        """Switch every target, then poll until all read back ``state`` (or fail)."""
        for target in targets:
            if self.agent.device.check_first and self._already(target, state):
                self.log.info("%s is already %s" % (_name(target), state.upper()))
                continue
            self.log.info("switching %s %s" % (_name(target), state))
            self.call("set power %s" % state, self.device.set_power, target, state)
        if self.opts.power_wait:
            time.sleep(self.opts.power_wait)
        pending = list(targets)
        errors = []

        def all_read_back():
            del errors[:]
            for target in list(pending):
                try:
                    if self.read(target) == state:
                        pending.remove(target)
                except Unreachable as e:
                    errors.append(e)
            return not pending

        if not Deadline(self.opts.power_timeout).poll(all_read_back, self.interval()):
            why = " (last error: %s)" % errors[-1] if errors else ""
            raise FenceError(
                "%s not read back %s within power_timeout=%gs%s; not confirmed"
                % (", ".join(map(_name, pending)), state.upper(), self.opts.power_timeout, why)
            )
        self.log.info("%s read back %s" % (", ".join(map(_name, targets)), state.upper()))

    def interval(self):
        """The pause between read-backs: ``stonith_status_sleep`` if given, else :func:`_pause`."""
        given = self.opts.stonith_status_sleep
        return _pause if given is None else given

    def _already(self, target, state):
        """True when ``target`` reads ``state`` now; an unreadable state is not "already"."""
        try:
            return self.read(target) == state
        except Unreachable:
            return False

    def power_on(self, targets):
        """Switch ``targets`` on, up to ``retry_on`` attempts (each read back in turn)."""
        attempts = max(1, self.opts.retry_on)
        for attempt in range(1, attempts + 1):
            try:
                self.switch(targets, ON)
                return
            except FenceError as e:
                if attempt == attempts:
                    raise
                self.log.warning(
                    "power on attempt %d of %d failed, trying again: %s" % (attempt, attempts, e)
                )

    def status(self, targets):
        states = [self.read(t) for t in targets]
        return ON if ON in states else OFF

    def act(self, action):
        if action == "validate-all":
            self.opts.secret(required=self.agent.device.needs_secret)
            self.log.info("options are valid")
            return EXIT_OK
        if action == "monitor":
            self.call("monitor", self.device.monitor)
            return EXIT_OK
        if action == "list":
            for plug, alias in self.call("list outlets", self.device.outlets):
                print("%s,%s" % (plug, alias or ""))
            return EXIT_OK
        plug = self.plug()
        if action in ("off", "reboot"):
            self.hold_off()
        targets = self.targets(plug)
        if action == "status":
            state = self.status(targets)
            print("Status: %s" % state.upper())
            return EXIT_OK if state == ON else EXIT_OFF
        if action in ("off", "reboot"):
            self.switch(targets, OFF)
            self.log.info("fenced %s: power is OFF" % ", ".join(map(_name, targets)))
            if action == "off":
                return EXIT_OK
            if not self.agent.device.can_power_on:
                self.log.info("%s must be powered on by hand" % ", ".join(map(_name, targets)))
                return EXIT_OK
            try:
                self.power_on(targets)
            except XenhaError as e:
                # The node is confirmed off, which is what fencing needs.
                self.log.error("power is OFF but switching it back on failed: %s" % e)
            return EXIT_OK
        self.power_on(targets)
        return EXIT_OK

    def close(self):
        if self._device is not None:
            try:
                self.call("close", self._device.close)
            except XenhaError:
                pass


def _name(target):
    return "power" if target is None else str(target)


def parse(agent, argv, stdin):
    """Options from the command line when there are arguments, else from stdin."""
    if argv:
        opts = o.parse_argv(agent.options, argv)
    else:
        opts = o.parse_stdin(agent.options, stdin.read())
    return opts


def run(agent, argv=None, stdin=None):
    """Run ``agent`` as a process: parse, act, exit with the fence-agents exit code
    (:func:`xenha.process.exit_now`: the process ends here)."""
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else argv
    log = fence_log(agent.name)
    with using(log):
        rc = _run(agent, argv, stdin, log, started)
    exit_now(rc)


def configure_log(log, opts):
    """Apply the logging options: verbose (or verbose_level above 0), quiet, debug_file."""
    if opts.verbose or (opts.verbose_level or 0) > 0:
        log.stderr = "info"
    if opts.quiet:
        log.stderr = None
    if opts.debug_file:
        try:
            open(opts.debug_file, "a").close()
        except OSError as e:  # a debug aid must not stop a fence
            log.warning("debug_file: cannot write %s: %s" % (opts.debug_file, e.strerror))
            return
        log.debuglog = opts.debug_file
        log.debug_on = True


def warn_about_options(agent, opts, log):
    """Say which options given change nothing: fence-agents' defaults that have no effect on
    this agent, and keys nobody declares (stdin only: argv refuses an unknown flag)."""
    for spec in agent.options:
        if spec.no_effect and opts.given(spec.name):
            log.warning(
                "option %s has no effect on %s: %s" % (spec.name, agent.name, spec.no_effect)
            )
    # Loud but no failure: refusing a key would make every fence fail the day a newer
    # Pacemaker or a migrated configuration passes one we do not know. Pacemaker's own
    # nodename never gets here (options.IGNORED_SILENTLY).
    for key in opts.unknown:
        log.warning("ignoring unknown option %r" % key)


def document(agent, opts):
    """What help, version and metadata print (they need no device), or None."""
    if opts.help:
        return usage(agent) + "\n"
    if opts.version:
        return "%s (xenha) %s\n" % (agent.name, __version__)
    if opts.action == "metadata":
        from xenha.fencing import metadata

        return metadata.render(agent)
    return None


def _run(agent, argv, stdin, log, started):
    runner = None
    try:
        opts = parse(agent, argv, sys.stdin if stdin is None else stdin)
        configure_log(log, opts)
        warn_about_options(agent, opts, log)
        text = document(agent, opts)
        if text is not None:
            sys.stdout.write(text)
            return EXIT_OK
        action = opts.action
        if action not in agent.actions:
            raise o.UsageError(
                "action %r is not supported (one of: %s)" % (action, ", ".join(agent.actions))
            )
        o.check_required(opts, agent.options)
        runner = Runner(agent, opts, log, started)
        rc = runner.act(action)
    except XenhaError as e:
        log.error(str(e))
        rc = EXIT_FAIL
    except Exception as e:  # a bug or a library surprise: still a clean failure, never success
        log.error("unexpected %s: %s" % (type(e).__name__, e))
        rc = EXIT_FAIL
    finally:
        if runner is not None:
            runner.close()
    return rc


def usage(agent):
    lines = ["usage: %s [options] (or key=value lines on stdin)" % agent.name, ""]
    lines.append(agent.shortdesc)
    lines.append("")
    for spec in agent.options:
        default = " (default %s)" % spec.default if spec.default is not None else ""
        lines.append("  %-34s %s%s" % (spec.getopt_text(), spec.desc, default))
    lines.append("")
    lines.append("actions: " + ", ".join(agent.actions))
    return "\n".join(lines)
