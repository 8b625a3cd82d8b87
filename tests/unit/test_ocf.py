"""The OCF plumbing: typed parameters, metadata, exit codes and reasons, probes, logging."""

import os
import subprocess
import sys

import pytest

from xenha import ocf

AGENT = ocf.ResourceAgent(
    "demo",
    version="2.0",
    shortdesc="Demo <agent>",
    longdesc='Says "hello" & exits',
    parameters=[
        ocf.Parameter("name", "Name", "Who", required=True, unique=True),
        ocf.Parameter(
            "count", "Count", "How many", type="integer", default="3", parse=ocf.positive
        ),
        ocf.Parameter("loud", "Loud", "Shout", type="boolean", default="false"),
        ocf.Parameter("tuning", "Tuning", "Reloadable knob", reloadable=True),
    ],
)
SEEN = []


@AGENT.action("start", timeout=20)
def start(res):
    SEEN.append(vars(res.params).copy())


@AGENT.action("stop", timeout=20)
def stop(res):
    SEEN.append("stop ran")


@AGENT.action("monitor", timeout=10, interval=10, depth=0, role="Promoted")
@AGENT.action("monitor", timeout=30, interval=60, depth=10, role="Unpromoted")
def monitor(res):
    if res.params.name == "boom":
        raise RuntimeError("kaboom")
    if res.params.name == "gone":
        return res.not_running("the thing is gone")
    if res.params.name == "broken":
        raise ocf.generic("the thing is broken")
    return ocf.SUCCESS


def env(**kw):
    e = {"OCF_RESOURCE_INSTANCE": "demo1", "OCF_RESKEY_name": "world"}
    e.update({k: v for k, v in kw.items() if v is not None})
    return e


@pytest.fixture(autouse=True)
def _clear():
    del SEEN[:]


def reasons(err):
    return [
        line[len("ocf-exit-reason:") :]
        for line in err.splitlines()
        if line.startswith("ocf-exit-reason:")
    ]


def test_typed_parameters_and_defaults():
    assert AGENT.execute("start", env(OCF_RESKEY_count="7", OCF_RESKEY_loud="Yes")) == ocf.SUCCESS
    assert SEEN == [{"name": "world", "count": 7, "loud": True, "tuning": None}]
    del SEEN[:]
    assert AGENT.execute("start", env(OCF_RESKEY_count="", OCF_RESKEY_loud="off")) == 0
    assert SEEN[0]["count"] == 3 and SEEN[0]["loud"] is False


@pytest.mark.parametrize(
    "key,value,why",
    [
        ("OCF_RESKEY_count", "many", "parameter count: 'many' is not an integer"),
        ("OCF_RESKEY_count", "0", "parameter count: 0 is not a positive number"),
        (
            "OCF_RESKEY_loud",
            "maybe",
            "parameter loud: 'maybe' is not a boolean (use true or false)",
        ),
    ],
)
def test_bad_values_are_configuration_errors_with_a_reason(capsys, key, value, why):
    assert AGENT.execute("start", env(**{key: value})) == ocf.ERR_CONFIGURED
    assert reasons(capsys.readouterr().err) == [why]
    assert SEEN == []


@pytest.mark.parametrize(
    "key,value,default",
    [("OCF_RESKEY_count", "-5", 3), ("OCF_RESKEY_loud", "maybe", False)],
)
def test_a_bad_value_never_fails_stop_which_goes_on_with_the_default(capsys, key, value, default):
    """A failed stop gets the node fenced: stop warns and uses the parameter's default."""
    stopped = []
    AGENT.handlers["stop"] = lambda res: stopped.append(vars(res.params).copy())
    try:
        assert AGENT.execute("stop", env(**{key: value})) == ocf.SUCCESS
    finally:
        AGENT.handlers["stop"] = stop
    err = capsys.readouterr().err
    assert reasons(err) == [] and "WARNING: parameter %s: " % key[len("OCF_RESKEY_") :] in err
    assert "stop goes on with its default" in err
    assert stopped[0][key[len("OCF_RESKEY_") :]] == default
    assert AGENT.execute("monitor", env(**{key: value})) == ocf.ERR_CONFIGURED


def test_missing_required_parameter_fails_start_and_monitor_but_never_stop(capsys):
    e = env(OCF_RESKEY_name=None)
    del e["OCF_RESKEY_name"]
    assert AGENT.execute("start", e) == ocf.ERR_CONFIGURED
    assert reasons(capsys.readouterr().err) == ["required parameter name is not set"]
    assert AGENT.execute("monitor", e) == ocf.ERR_CONFIGURED
    capsys.readouterr()
    assert AGENT.execute("stop", e) == ocf.SUCCESS
    assert reasons(capsys.readouterr().err) == []
    assert SEEN == []  # stop had nothing it could identify, so it did not run the handler


def test_probe_not_running_has_no_exit_reason_but_a_recurring_monitor_has(capsys):
    probe = env(OCF_RESKEY_name="gone", OCF_RESKEY_CRM_meta_interval="0")
    assert AGENT.execute("monitor", probe) == ocf.NOT_RUNNING
    err = capsys.readouterr().err
    assert reasons(err) == [] and "ERROR" not in err
    recurring = env(OCF_RESKEY_name="gone", OCF_RESKEY_CRM_meta_interval="10000")
    assert AGENT.execute("monitor", recurring) == ocf.NOT_RUNNING
    assert reasons(capsys.readouterr().err) == ["the thing is gone"]


def test_resource_context():
    res = ocf.Resource(
        AGENT,
        "monitor",
        {
            "OCF_RESKEY_CRM_meta_interval": "60000",
            "OCF_RESKEY_CRM_meta_timeout": "45000",
            "OCF_RESKEY_CRM_meta_migrate_target": "node2",
            "OCF_CHECK_LEVEL": "10",
        },
    )
    assert (res.interval, res.is_probe, res.timeout, res.depth) == (60.0, False, 45.0, 10)
    assert res.meta("migrate-target") == "node2"
    assert ocf.Resource(AGENT, "monitor", {}).is_probe
    assert ocf.Resource(AGENT, "monitor", {}).timeout == 10.0  # the first advertised monitor
    assert not ocf.Resource(AGENT, "start", {}).is_probe


def test_errors_and_unexpected_exceptions_give_one_reason_and_no_traceback_on_it(capsys):
    assert AGENT.execute("monitor", env(OCF_RESKEY_name="broken")) == ocf.ERR_GENERIC
    assert reasons(capsys.readouterr().err) == ["the thing is broken"]
    assert AGENT.execute("monitor", env(OCF_RESKEY_name="boom")) == ocf.ERR_GENERIC
    err = capsys.readouterr().err
    assert reasons(err) == ["monitor failed: RuntimeError: kaboom"]
    assert "Traceback" in err  # logged for the developer, after the reason line


def test_unknown_action_is_unimplemented(capsys):
    assert AGENT.execute("promote", env()) == ocf.ERR_UNIMPLEMENTED
    assert "usage: demo {meta-data|monitor|start|stop}" in capsys.readouterr().err


def test_metadata_renders_escaped_xml_with_roles_depths_and_flags():
    import xml.etree.ElementTree as ET

    root = ET.fromstring(AGENT.metadata().split("\n", 2)[2])
    assert root.get("name") == "demo" and root.get("version") == "2.0"
    assert root.findtext("version") == "1.1"
    assert root.findtext("shortdesc") == "Demo <agent>"
    assert root.findtext("longdesc") == 'Says "hello" & exits'
    params = {p.get("name"): p for p in root.iter("parameter")}
    assert (params["name"].get("required"), params["name"].get("unique")) == ("1", "1")
    assert params["count"].find("content").attrib == {"type": "integer", "default": "3"}
    assert params["tuning"].get("reloadable") == "1"
    assert params["loud"].get("reloadable") is None
    actions = [a.attrib for a in root.iter("action")]
    assert {
        "name": "monitor",
        "timeout": "30s",
        "interval": "60s",
        "depth": "10",
        "role": "Unpromoted",
    } in actions
    assert {"name": "meta-data", "timeout": "5s"} in actions


def test_declaration_mistakes_are_caught_early():
    with pytest.raises(ValueError):
        ocf.Parameter("x", "x", "x", type="float")
    with pytest.raises(ValueError):
        ocf.ActionSpec("monitor", 10, role="Master")
    with pytest.raises(ValueError):
        ocf.ResourceAgent(
            "a", "s", "l", "1", [ocf.Parameter("x", "x", "x"), ocf.Parameter("x", "y", "y")]
        )


def test_logging_to_a_file_and_debug_switch(tmp_path):
    logfile = tmp_path / "ha.log"
    log = ocf.resource_log("demo", "demo1", {"HA_LOGFILE": str(logfile)})
    log.debug("hidden")
    log.info("shown %d", 1)
    text = logfile.read_text()
    assert "demo(demo1)[" in text and "INFO: shown 1" in text and "hidden" not in text
    ocf.resource_log("demo", "demo1", {"HA_LOGFILE": str(logfile), "HA_debug": "1"}).debug(
        "now seen"
    )
    assert "DEBUG: now seen" in logfile.read_text()


SCRIPT = """
import sys
sys.path.insert(0, %r)
from tests.unit.test_ocf import AGENT
AGENT.run()
"""


def run_script(*argv, **env_vars):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    e = dict(os.environ, **env_vars)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT % root] + list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=e,
        timeout=30,
    )


def test_run_exits_with_the_code_and_honours_the_exit_reason_prefix():
    r = run_script("monitor", OCF_RESKEY_name="broken", OCF_EXIT_REASON_PREFIX="REASON:")
    assert r.returncode == ocf.ERR_GENERIC
    assert r.stderr.splitlines()[0] == "REASON:the thing is broken"
    r = run_script("meta-data")
    assert r.returncode == 0 and r.stdout.startswith('<?xml version="1.0"?>')
    r = run_script()
    assert r.returncode == ocf.ERR_ARGS and "usage:" in r.stderr
    r = run_script("usage")
    assert r.returncode == 0 and r.stdout.startswith("usage: demo")


def test_logging_to_syslog_with_the_facility_pacemaker_passes(monkeypatch):
    import syslog

    calls = []
    monkeypatch.setattr(syslog, "openlog", lambda *a: calls.append(("openlog",) + a))
    monkeypatch.setattr(syslog, "syslog", lambda *a: calls.append(("syslog",) + a))
    log = ocf.resource_log("demo", "demo1", {"HA_LOGFACILITY": "local5"})
    assert log.stderr is None or sys.stderr.isatty()
    log.warning("disk %s", "full")
    log.debug("not without HA_debug")
    assert calls == [
        ("openlog", "demo(demo1)", syslog.LOG_PID, syslog.LOG_LOCAL5),
        ("syslog", syslog.LOG_WARNING, "WARNING: disk full"),  # as ocf_log's "LEVEL: text"
    ]
