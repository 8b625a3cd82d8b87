"""Fence-agent plumbing: option parsing, secrets, metadata (validated against fence-agents' RNG),
and the runner's handling of fence-agents' default options against a device in memory."""

import importlib
import os
import stat
import sys
import time

import pytest
from lxml import etree

from xenha import install
from xenha.fencing import agent as a
from xenha.fencing import metadata
from xenha.fencing import options as o
from xenha.fencing.device import OFF, ON, Device, FenceError
from xenha.log import COMMAND, Log

RNG = "/usr/share/cluster/relaxng/metadata.rng"
SPECS = o.COMMON + o.LOGIN + (o.ipport(623), o.COMMUNITY, o.SNMP_VERSION)
# fence-agents' default option set (DEPENDENCY_OPT["default"] in its fencing.py), its debug
# under the name of its flag, debug_file.
FENCE_AGENTS_DEFAULT = (
    "help",
    "debug_file",
    "verbose",
    "verbose_level",
    "version",
    "action",
    "agent",
    "power_timeout",
    "shell_timeout",
    "login_timeout",
    "disable_timeout",
    "power_wait",
    "stonith_status_sleep",
    "retry_on",
    "delay",
    "plug_separator",
    "quiet",
)


def agents():
    return [
        importlib.import_module(a.module).AGENT
        for a in install.shipped_agents(lab=True)
        if a.module.startswith("stonith_plugins.")
    ]


def test_stdin_names_aliases_comments_and_quotes():
    opts = o.parse_stdin(
        SPECS,
        '# the fencer\'s input\n\nipaddr=10.0.0.5\nlogin=root\npasswd="s3 cret"\n'
        "port=node1\noption=off\nipport=6230\nverbose=yes\nnodename=node1\npower-timeout=7.5\n",
    )
    assert (opts.ip, opts.username, opts.password, opts.plug) == (
        "10.0.0.5",
        "root",
        "s3 cret",
        "node1",
    )
    assert (opts.action, opts.ipport, opts.verbose, opts.power_timeout) == ("off", 6230, True, 7.5)
    assert opts.unknown == []


def test_stdin_defaults_and_unknown_keys():
    opts = o.parse_stdin(SPECS, "ip=h\nfrobnicate=1\n")
    assert opts.action == "reboot" and opts.ipport == 623 and opts.power_timeout == 20.0
    assert opts.verbose is None and opts.snmp_version == "1"
    assert opts.unknown == ["frobnicate"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("ipport=abc", "not an integer"),
        ("power_timeout=-1", "must not be negative"),
        ("power_timeout=soon", "not a number of seconds"),
        ("verbose=maybe", "not a boolean"),
        ("snmp_version=4", "not one of 1, 2c, 3"),
        ("ip", "needs a value"),
    ],
)
def test_stdin_malformed_values_are_usage_errors(text, message):
    with pytest.raises(o.UsageError, match=message):
        o.parse_stdin(SPECS, text + "\n")


def test_argv_short_long_and_alias_flags():
    opts = o.parse_argv(SPECS, ["-o", "status", "-a", "10.0.0.9", "--login=admin", "-n", "3", "-v"])
    assert (opts.action, opts.ip, opts.username, opts.plug, opts.verbose) == (
        "status",
        "10.0.0.9",
        "admin",
        "3",
        True,
    )


@pytest.mark.parametrize("flag", [["-p", "pw"], ["--password=pw"], ["--passwd", "pw"], ["-c", "x"]])
def test_argv_refuses_secrets(flag):
    with pytest.raises(o.UsageError, match="ps"):
        o.parse_argv(SPECS, ["-o", "status"] + flag)


def test_argv_rejects_unknown_flags_and_stray_arguments():
    with pytest.raises(o.UsageError, match="not recognized"):
        o.parse_argv(SPECS, ["--frobnicate"])
    with pytest.raises(o.UsageError, match="unexpected argument"):
        o.parse_argv(SPECS, ["-o", "off", "node1"])


def test_required_options():
    with pytest.raises(o.UsageError, match="missing required option ip"):
        o.check_required(o.parse_stdin(SPECS, "action=off\n"), SPECS)


def test_repr_hides_secrets():
    opts = o.parse_stdin(SPECS, "password=topsecret\ncommunity=rw-secret\n")
    assert "topsecret" not in repr(opts) and "rw-secret" not in repr(opts)


def _opts(text):
    return o.parse_stdin(SPECS, text)


def test_password_file_must_be_private(tmp_path):
    path = tmp_path / "pw"
    path.write_text("hunter2\nignored\n")
    os.chmod(str(path), 0o600)
    assert _opts("password_file=%s\n" % path).secret() == "hunter2"
    for mode in (0o640, 0o604, 0o660):
        os.chmod(str(path), mode)
        with pytest.raises(o.UsageError, match="chmod 600"):
            _opts("password_file=%s\n" % path).secret()


def test_password_file_missing_or_empty(tmp_path):
    with pytest.raises(o.UsageError, match="No such file"):
        _opts("password_file=%s\n" % (tmp_path / "nope")).secret()
    empty = tmp_path / "empty"
    empty.write_text("")
    os.chmod(str(empty), 0o600)
    with pytest.raises(o.UsageError, match="empty"):
        _opts("password_file=%s\n" % empty).secret()


def test_password_script_runs_without_shell(tmp_path):
    script = tmp_path / "pw.sh"
    script.write_text('#!/bin/sh\necho "from-script-$1"\n')
    os.chmod(str(script), stat.S_IRWXU)
    assert _opts("password_script=%s arg\n" % script).secret() == "from-script-arg"


@pytest.mark.parametrize(
    "body, message",
    [
        ("exit 3", "failed \\(exit 3\\)"),
        ("true", "printed no password"),
        ("sleep 5", "did not finish"),
    ],
)
def test_password_script_failures(tmp_path, body, message):
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\n%s\n" % body)
    os.chmod(str(script), stat.S_IRWXU)
    with pytest.raises(o.UsageError, match=message):
        _opts("password_script=%s\nlogin_timeout=0.5\n" % script).secret()


def test_no_password_at_all():
    with pytest.raises(o.UsageError, match="no password"):
        _opts("ip=h\n").secret()


@pytest.mark.parametrize("agent", agents(), ids=lambda a: a.name)
def test_metadata_validates_against_fence_agents_rng(agent):
    rng = etree.RelaxNG(etree.parse(RNG))
    doc = etree.fromstring(metadata.render(agent).encode())
    assert rng.validate(doc), rng.error_log
    params = {p.get("name"): p for p in doc.iter("parameter")}
    assert params["action"].get("required") == "0"
    if "plug" in params:
        assert params["plug"].get("obsoletes") == "port"
        assert params["port"].get("deprecated") == "1"
    if "password" in params:
        assert params["passwd"].get("deprecated") == "1"
    assert "password_file" in params or agent.device.needs_secret is False
    actions = [a.get("name") for a in doc.iter("action")]
    assert {"off", "monitor", "metadata", "validate-all"} <= set(actions)


def test_every_fence_agent_is_thin_and_named():
    for agent in agents():
        assert agent.name.startswith("fence_xenha_")
        module = sys.modules["stonith_plugins." + agent.name]
        assert callable(module.main)


def test_fence_agents_default_set_on_stdin_and_argv():
    specs = SPECS + o.fence_agents_defaults(powers_on=True, plug_lists=False)
    opts = o.parse_stdin(specs, "delay=2\nretry_on=3\nstonith_status_sleep=0.5\nagent=x\n")
    assert (opts.delay, opts.retry_on, opts.stonith_status_sleep) == (2.0, 3, 0.5)
    assert opts.unknown == []
    opts = o.parse_argv(specs, ["--delay=2", "--shell-timeout=4", "--plug-separator=;"])
    assert opts.delay == 2.0 and opts.given("shell_timeout") and opts.plug_separator == ";"
    opts = o.parse_stdin(specs, "quiet=1\nverbose_level=2\ndebug=/tmp/d\nversion=1\n")
    assert (opts.quiet, opts.verbose_level, opts.version) == (True, 2, True)
    assert opts.debug_file == "/tmp/d"
    opts = o.parse_argv(specs, ["-q", "-D", "/tmp/d", "-V", "-h", "--verbose-level=1"])
    assert (opts.quiet, opts.debug_file, opts.version, opts.help) == (True, "/tmp/d", True, True)
    defaults = o.parse_stdin(specs, "")
    assert (defaults.delay, defaults.retry_on, defaults.stonith_status_sleep) == (0.0, 1, None)


class Outlet(Device):
    """One outlet in memory, at first ``initial``, that ignores its first ``ignored``
    commands, reaches a new state ``settle`` seconds after the command, and records when it
    was read."""

    check_first = False  # every read is a read-back
    needs_secret = False
    initial = ON
    ignored = 0
    settle = 0.0

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        self.state, self.since, self.commands, self.reads = self.initial, 0.0, 0, []

    def set_power(self, target, state):
        self.commands += 1
        if self.commands > self.ignored:
            self.state, self.since = state, time.monotonic()

    def get_power(self, target):
        self.reads.append(time.monotonic())
        settled = time.monotonic() - self.since >= self.settle
        return self.state if settled else {ON: OFF, OFF: ON}[self.state]


def runner(text, **device):
    """A Runner of an agent over an :class:`Outlet` (its attributes set from ``device``),
    options from stdin ``text``, logging steps to stderr."""
    outlet = type("Outlet", (Outlet,), device)
    agent = a.FenceAgent("fence_test", "test", "test", outlet, o.COMMON)
    opts = o.parse_stdin(agent.options, "plug=1\n" + text)
    return a.Runner(agent, opts, Log("fence_test", stderr="info", style=COMMAND), time.monotonic())


def test_stonith_status_sleep_spaces_the_read_backs():
    r = runner("stonith_status_sleep=0.4\n", settle=1.0)
    assert r.act("off") == a.EXIT_OK
    gaps = [later - earlier for earlier, later in zip(r.device.reads, r.device.reads[1:])]
    assert gaps and min(gaps) >= 0.4


def test_retry_on_switches_on_again_after_a_command_that_did_nothing(capsys):
    r = runner("power_timeout=0.3\n", initial=OFF, ignored=1)
    with pytest.raises(FenceError, match="not read back ON"):
        r.act("on")
    r = runner("retry_on=2\npower_timeout=0.3\n", initial=OFF, ignored=1)
    assert r.act("on") == a.EXIT_OK
    assert r.device.commands == 2 and r.device.state == ON
    assert "power on attempt 1 of 2 failed, trying again" in capsys.readouterr().err


def test_off_waits_for_delay_and_status_does_not(capsys):
    r = runner("delay=0.5\n")
    assert r.act("status") == a.EXIT_OK  # ON
    assert "waiting" not in capsys.readouterr().err
    assert r.act("off") == a.EXIT_OK
    assert time.monotonic() - r.started >= 0.5
    assert "delay=0.5: waiting" in capsys.readouterr().err


def log_options(text):
    agent = a.FenceAgent("fence_test", "test", "test", Outlet, o.COMMON)
    log = a.fence_log(agent.name)
    opts = o.parse_stdin(agent.options, text)
    a.configure_log(log, opts)
    a.warn_about_options(agent, opts, log)
    return log


def test_quiet_verbose_level_and_debug_file(tmp_path, monkeypatch, capsys):
    import syslog

    sent = []
    monkeypatch.setattr(syslog, "openlog", lambda *args: None)
    monkeypatch.setattr(syslog, "syslog", lambda *args: sent.append(args))
    assert log_options("verbose_level=1\n").stderr == "info"
    assert log_options("verbose_level=0\n").stderr == "warning"
    log = log_options("verbose=1\nquiet=1\nfrobnicate=1\nagent=fence_x\n")
    log.error("no answer")
    assert capsys.readouterr().err == ""
    assert (syslog.LOG_ERR, "no answer") in sent
    assert (syslog.LOG_WARNING, "ignoring unknown option 'frobnicate'") in sent
    assert any(text.startswith("option agent has no effect on fence_test: ") for _, text in sent)
    path = tmp_path / "debug.log"
    log = log_options("debug_file=%s\n" % path)
    log.debug("sent GET")
    log.info("switching 1 off")
    text = path.read_text()
    assert "DEBUG: sent GET" in text and "INFO: switching 1 off" in text


def test_unwritable_debug_file_warns_but_does_not_fail(tmp_path, capsys):
    log_options("debug_file=%s\n" % (tmp_path / "no" / "such" / "dir"))
    assert "debug_file: cannot write" in capsys.readouterr().err


@pytest.mark.parametrize("agent", agents(), ids=lambda a: a.name)
def test_every_agent_takes_fence_agents_default_set(agent):
    names = {s.name for s in agent.options}
    assert set(FENCE_AGENTS_DEFAULT) <= names
    inert = {s.name for s in agent.options if s.no_effect}
    assert ("retry_on" in inert) != agent.device.can_power_on
    assert ("plug_separator" in inert) != agent.device.plug_lists
    assert {"shell_timeout", "disable_timeout", "agent"} <= inert
