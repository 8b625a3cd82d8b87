"""Every environment convention of resource-agents (ocf-shellfuncs and its Python ocf.py)
that xenha.ocf honours, one test each, and the same inputs run through the upstream
ocf.py where it is installed (docs/ocf.md has the comparison table)."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from xenha import log, ocf

AGENT = ocf.ResourceAgent(
    "demo",
    version="1.0",
    shortdesc="Demo",
    longdesc="Logs at every level",
    parameters=[ocf.Parameter("word", "Word", "What to say", default="hello")],
)


@AGENT.action("start", timeout=20)
def start(res):
    res.log.debug("debug %s", res.params.word)
    res.log.info("info %s", res.params.word)
    log.warning("library warning %s", res.params.word)
    res.log.error("error %s", res.params.word)


@AGENT.action("monitor", timeout=10, interval=10)
def monitor(res):
    raise ocf.generic("broken %s" % res.params.word)


def env(**kw):
    e = {"OCF_RESOURCE_INSTANCE": "rsc1"}
    e.update(kw)
    return e


def lines(path):
    with open(str(path)) as f:
        return f.read().splitlines()


def levels(path):
    return [line.split("\t", 1)[1].split(": ", 1)[0].split()[-1] for line in lines(path)]


def test_ha_debug_turns_debug_lines_on_unless_empty_or_0(tmp_path):
    for value, expected in (("", False), ("0", False), ("1", True), ("yes", True)):
        logfile = tmp_path / ("log" + value)
        assert AGENT.execute("start", env(HA_LOGFILE=str(logfile), HA_debug=value)) == 0
        assert ("DEBUG" in levels(logfile)) is expected, value
        assert "INFO" in levels(logfile)  # info is always logged, as ocf_log does


def test_ha_logfacility_is_syslogs_facility_and_none_means_no_syslog(monkeypatch, capsys):
    import syslog

    calls = []
    monkeypatch.setattr(syslog, "openlog", lambda *a: calls.append(("openlog",) + a))
    monkeypatch.setattr(syslog, "syslog", lambda *a: calls.append(a))
    assert AGENT.execute("start", env(HA_LOGFACILITY="local3")) == 0
    assert calls[0] == ("openlog", "demo(rsc1)", syslog.LOG_PID, syslog.LOG_LOCAL3)
    assert calls[1:] == [
        (syslog.LOG_INFO, "INFO: info hello"),
        (syslog.LOG_WARNING, "WARNING: library warning hello"),
        (syslog.LOG_ERR, "ERROR: error hello"),
    ]
    assert capsys.readouterr().err == ""  # syslog only
    del calls[:]
    assert AGENT.execute("start", env(HA_LOGFACILITY="none")) == 0
    assert calls == []
    assert "demo(rsc1) ERROR: error hello" in capsys.readouterr().err  # none: stderr instead


def test_ha_logfile_gets_one_tagged_dated_line_per_message(tmp_path, capsys):
    logfile = tmp_path / "ha-log"
    assert AGENT.execute("start", env(HA_LOGFILE=str(logfile))) == 0
    pattern = r"demo\(rsc1\)\[%d\]:\t\w{3} [ \d]\d \d\d:\d\d:\d\d (INFO|WARNING|ERROR): " % (
        os.getpid()
    )
    assert all(re.match(pattern, line) for line in lines(logfile)), lines(logfile)
    assert levels(logfile) == ["INFO", "WARNING", "ERROR"]
    assert capsys.readouterr().err == ""


def test_ha_debuglog_gets_the_debug_lines_and_every_other_one(tmp_path):
    logfile, debuglog = tmp_path / "ha-log", tmp_path / "ha-debug"
    e = env(HA_LOGFILE=str(logfile), HA_DEBUGLOG=str(debuglog), HA_debug="1")
    assert AGENT.execute("start", e) == 0
    assert levels(debuglog) == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert levels(logfile) == ["INFO", "WARNING", "ERROR"]
    same = tmp_path / "one-log"
    e = env(HA_LOGFILE=str(same), HA_DEBUGLOG=str(same), HA_debug="1")
    assert AGENT.execute("start", e) == 0
    assert levels(same) == ["DEBUG", "INFO", "WARNING", "ERROR"]  # once, not twice
    alone = tmp_path / "debug-only"
    assert AGENT.execute("start", env(HA_DEBUGLOG=str(alone), HA_debug="1")) == 0
    assert levels(alone) == ["DEBUG", "INFO", "WARNING", "ERROR"]


def test_ha_datefmt_is_the_strftime_format_of_the_file_lines(tmp_path):
    logfile = tmp_path / "ha-log"
    assert AGENT.execute("start", env(HA_LOGFILE=str(logfile), HA_DATEFMT="%Y-%m-%dT%H:%M ")) == 0
    assert re.match(r"demo\(rsc1\)\[\d+\]:\t\d{4}-\d\d-\d\dT\d\d:\d\d INFO: ", lines(logfile)[0])


def test_ha_logtag_replaces_the_tag_everywhere(tmp_path, monkeypatch, capsys):
    import syslog

    calls = []
    monkeypatch.setattr(syslog, "openlog", lambda *a: calls.append(a))
    monkeypatch.setattr(syslog, "syslog", lambda *a: None)
    logfile = tmp_path / "ha-log"
    e = env(HA_LOGTAG="mytag", HA_LOGFILE=str(logfile), HA_LOGFACILITY="daemon")
    assert AGENT.execute("start", e) == 0
    assert lines(logfile)[0].startswith("mytag:\t")  # verbatim, as ocf_log uses it
    assert calls == [("mytag", 0, syslog.LOG_DAEMON)]
    assert AGENT.execute("start", env(HA_LOGTAG="mytag")) == 0
    assert "mytag ERROR: error hello" in capsys.readouterr().err


def test_ocf_exit_reason_prefix_and_the_reason_in_the_log(tmp_path, capsys):
    assert AGENT.execute("monitor", env(OCF_EXIT_REASON_PREFIX="REASON:")) == ocf.ERR_GENERIC
    err = capsys.readouterr().err
    assert err.splitlines() == ["REASON:broken hello"]  # logged, but not again on stderr
    assert AGENT.execute("monitor", env(OCF_EXIT_REASON_PREFIX="")) == ocf.ERR_GENERIC
    assert capsys.readouterr().err == "ocf-exit-reason:broken hello\n"  # empty: the default
    logfile = tmp_path / "ha-log"
    assert AGENT.execute("monitor", env(HA_LOGFILE=str(logfile))) == ocf.ERR_GENERIC
    assert len(lines(logfile)) == 1 and lines(logfile)[0].endswith(" ERROR: broken hello")


def test_ocf_reskey_crm_meta_attributes():
    res = ocf.Resource(
        AGENT,
        "monitor",
        {
            "OCF_RESKEY_CRM_meta_interval": "10000",
            "OCF_RESKEY_CRM_meta_timeout": "15000",
            "OCF_RESKEY_CRM_meta_clone_max": "3",
            "OCF_RESKEY_CRM_meta_notify_promote_uname": "node2 ",
            "OCF_RESKEY_CRM_meta_on_node": "node1",
        },
    )
    assert (res.interval, res.timeout, res.is_probe) == (10.0, 15.0, False)
    assert res.meta("clone-max") == res.meta("clone_max") == "3"
    assert res.meta("notify_promote_uname") == "node2 " and res.meta("absent", "x") == "x"
    from xenha import pacemaker

    assert pacemaker.node_name(res.env) == "node1"
    for interval in ("0", "", None):
        e = {} if interval is None else {"OCF_RESKEY_CRM_meta_interval": interval}
        assert ocf.Resource(AGENT, "monitor", e).is_probe
    assert not ocf.Resource(AGENT, "start", {"OCF_RESKEY_CRM_meta_interval": "0"}).is_probe


def test_ocf_check_level_and_its_ocf_reskey_form():
    def depth(**kw):
        return ocf.Resource(AGENT, "monitor", kw).depth

    assert depth() == 0 and depth(OCF_CHECK_LEVEL="10") == 10
    assert depth(OCF_RESKEY_OCF_CHECK_LEVEL="20") == 20
    assert depth(OCF_CHECK_LEVEL="10", OCF_RESKEY_OCF_CHECK_LEVEL="20") == 10


# -- OCF_TRACE_RA / OCF_TRACE_FILE: run as Pacemaker runs an agent, stdin not a terminal --

SCRIPT = """
import sys
sys.path.insert(0, %r)
from tests.unit.test_ocf_conventions import AGENT
AGENT.run()
"""


def run_process(argv, env):
    """Run ``argv`` as Pacemaker runs an agent: stdin not a terminal, output as text."""
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=env,
        timeout=30,
    )


def run_agent(action, varlib, fd9=None, **env_vars):
    """Run the demo agent's ``action`` in a new process, stdin not a terminal; HA_VARLIB
    is ``varlib`` (the default trace directory's parent), ``fd9`` a file open on fd 9."""
    e = dict(os.environ, OCF_RESOURCE_INSTANCE="rsc1", HA_VARLIB=str(varlib), **env_vars)
    argv = [sys.executable, "-c", SCRIPT % REPO] + ([action] if action else [])
    if fd9 is not None:
        e["FD9"] = str(fd9)
        argv = ["sh", "-c", 'exec "$@" 9>"$FD9"', "sh"] + argv
    return run_process(argv, e)


def check_trace(text):
    trace = text.splitlines()
    assert re.match(r"\+ \d\d:\d\d:\d\d: trace of demo start, pid \d+; environment:$", trace[0])
    assert "OCF_RESOURCE_INSTANCE=rsc1" in trace  # the environment, as ocf_start_trace
    # every line of xenha's code that ran, with where it is
    assert "xenha.ocf:_load_params:" in text and re.search(
        r"^\+ \d\d:\d\d:\d\d: xenha\.ocf:_load_params:\d+: for p in self\.parameters:$",
        text,
        re.M,
    )
    assert "+ " in trace[-1] and trace[-1].endswith(": end of trace")
    # every message, debug included although HA_debug is not set
    for message in ("DEBUG: debug hello", "INFO: info hello", "WARNING: library warning hello"):
        assert ": %s" % message in text, message


def test_ocf_action_from_the_environment_without_an_argument(tmp_path):
    r = run_agent(None, tmp_path, __OCF_ACTION="monitor", OCF_RESKEY_word="there")
    assert (r.returncode, r.stderr.splitlines()[0]) == (
        ocf.ERR_GENERIC,
        "ocf-exit-reason:broken there",
    )
    r = run_agent(None, tmp_path)
    assert r.returncode == ocf.ERR_ARGS and "usage: demo" in r.stderr


def test_ocf_trace_file_path(tmp_path):
    trace = tmp_path / "traces" / "start.trace"
    trace.parent.mkdir()
    r = run_agent(
        "start", tmp_path, OCF_TRACE_RA="1", OCF_TRACE_FILE=str(trace), XENHA_TEST_OTHER="x"
    )
    assert r.returncode == 0, r.stderr
    check_trace(trace.read_text())
    assert "DEBUG" not in r.stderr  # the trace does not turn HA_debug on
    # root's only, and only the cluster's variables
    assert os.stat(str(trace)).st_mode & 0o077 == 0 and "XENHA_TEST_OTHER" not in trace.read_text()
    assert not (tmp_path / "trace_ra").exists()


def test_ocf_trace_ra_attribute_writes_to_the_trace_dir(tmp_path):
    traces = tmp_path / "traces"
    r = run_agent("start", tmp_path, OCF_RESKEY_trace_ra="yes", OCF_RESKEY_trace_dir=str(traces))
    assert r.returncode == 0, r.stderr
    (name,) = os.listdir(str(traces / "demo"))
    assert re.match(r"^rsc1\.start\.\d{4}-\d\d-\d\d\.\d\d:\d\d:\d\d$", name), name
    check_trace((traces / "demo" / name).read_text())
    # By default under $HA_VARLIB/trace_ra/<OCF_RESOURCE_TYPE>/
    r = run_agent("start", tmp_path, OCF_RESOURCE_TYPE="Demo", OCF_TRACE_RA="1")
    assert r.returncode == 0 and len(os.listdir(str(tmp_path / "trace_ra" / "Demo"))) == 1


def test_ocf_trace_file_descriptor_and_a_bad_value(tmp_path):
    fd9 = tmp_path / "fd9"
    r = run_agent("start", tmp_path, fd9=fd9, OCF_TRACE_RA="1", OCF_TRACE_FILE="9")
    assert r.returncode == 0, r.stderr
    check_trace(fd9.read_text())
    r = run_agent("start", tmp_path, OCF_TRACE_RA="1", OCF_TRACE_FILE="relative")
    assert "OCF_TRACE_FILE must be set to either FD" in r.stderr
    assert len(os.listdir(str(tmp_path / "trace_ra" / "demo"))) == 1  # the default instead
    r = run_agent("start", tmp_path / "off", OCF_TRACE_RA="0")
    assert r.returncode == 0 and not (tmp_path / "off").exists()


def test_a_trace_that_cannot_be_written_never_fails_the_action(tmp_path):
    """A trace file that takes no writes (/dev/full: the environment alone overflows the
    buffer) and a bad OCF_TRACE_FILE: the action still succeeds, and the warning lands in
    the agent's log under its tag (a failed stop would fence the node)."""
    full = env(
        OCF_TRACE_RA="1", OCF_TRACE_FILE="/dev/full", OCF_RESKEY_CRM_meta_notify_x="x" * 20000
    )
    assert AGENT.execute("start", full) == ocf.SUCCESS
    logfile = tmp_path / "ha.log"
    bad = env(OCF_TRACE_RA="1", OCF_TRACE_FILE="relative", HA_LOGFILE=str(logfile))
    bad.update(OCF_RESKEY_trace_dir=str(tmp_path / "traces"))
    assert AGENT.execute("start", bad) == ocf.SUCCESS
    assert any(
        line.startswith("demo(rsc1)[") and "OCF_TRACE_FILE must be set" in line
        for line in lines(logfile)
    )


# -- the same inputs through resource-agents' own ocf.py ----------------------------------


def upstream_ocf():
    for directory in (
        os.environ.get("OCF_FUNCTIONS_DIR", ""),
        os.path.join(os.environ.get("OCF_ROOT", "/usr/lib/ocf"), "lib", "heartbeat"),
    ):
        path = os.path.join(directory, "ocf.py")
        if directory and os.path.exists(path):
            return path
    pytest.skip("resource-agents' ocf.py is not installed (Debian: resource-agents)")


# Run as the agent "demo" (upstream names its log lines after the calling script's file):
# upstream ocf.py reads its environment when imported, so each case is a new process.
DRIVER = r"""
import importlib.util, io, json, os, sys, syslog
calls = []
syslog.openlog = lambda *a: None
syslog.syslog = lambda *a: calls.append(list(a))
spec = importlib.util.spec_from_file_location("ocf_upstream", os.environ["UPSTREAM"])
up = importlib.util.module_from_spec(spec)
spec.loader.exec_module(up)
sys.path.insert(0, os.environ["REPO"])
from xenha import ocf
ours_env = json.loads(os.environ["OURS_ENV"])
agent = ocf.ResourceAgent("demo", "s", "l", "1", [])
agent.action("monitor", timeout=10)(lambda res: None)
out = {"probe": [], "reason": []}
for action, interval in json.loads(os.environ["PROBES"]):
    if interval is None:
        os.environ.pop("OCF_RESKEY_CRM_meta_interval", None)
    else:
        os.environ["OCF_RESKEY_CRM_meta_interval"] = interval
    up.OCF_ACTION = action
    res = ocf.Resource(agent, action, dict(os.environ))
    out["probe"].append([up.is_probe(), res.is_probe])
res = ocf.Resource(agent, "monitor", dict(os.environ, **ours_env))
for level in ("debug", "info", "warning", "error"):
    getattr(up.logger, level)("%s line %d", level, 1)
    getattr(res.log, level)("%s line %d", level, 1)
for who in ("upstream", "ours"):
    sys.stderr = io.StringIO()
    if who == "upstream":
        up.ocf_exit_reason("the reason")
    else:
        res.exit_reason("the reason")
    out["reason"].append(sys.stderr.getvalue())
out["syslog"] = calls
json.dump(out, sys.__stdout__)
"""


def run_both(tmp_path, upstream_env, ours_env, probes=()):
    driver = tmp_path / "demo"
    driver.write_text(DRIVER)
    e = {k: v for k, v in os.environ.items() if not k.startswith(("HA_", "OCF_"))}
    e.update(
        OCF_ROOT="/usr/lib/ocf",
        OCF_RESOURCE_INSTANCE="rsc1",
        __OCF_ACTION="monitor",
        UPSTREAM=upstream_ocf(),
        REPO=REPO,
        OURS_ENV=json.dumps(ours_env),
        PROBES=json.dumps(list(probes)),
        **upstream_env,
    )
    r = run_process([sys.executable, str(driver)], e)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_upstream_and_ours_agree_on_probes_exit_reasons_and_the_log_file(tmp_path):
    theirs, ours = tmp_path / "upstream.log", tmp_path / "ours.log"
    common = {"HA_debug": "1", "HA_DATEFMT": "%Y ", "OCF_EXIT_REASON_PREFIX": "REASON:"}
    probes = [
        ("monitor", "0"),
        ("monitor", None),
        ("monitor", ""),
        ("monitor", "10000"),
        ("start", "0"),
    ]
    out = run_both(
        tmp_path,
        dict(common, HA_LOGFILE=str(theirs)),
        dict(common, HA_LOGFILE=str(ours)),
        probes,
    )
    assert [pair[0] for pair in out["probe"]] == [True, True, True, False, False]
    assert all(a == b for a, b in out["probe"]), out["probe"]
    assert out["reason"][0] == out["reason"][1] == "REASON:the reason\n"
    # tag[pid]:\t<HA_DATEFMT>LEVEL: text, debug included; upstream logs the exit reason
    # from ocf.py, so its line is named after that file
    assert lines(theirs)[:-1] == lines(ours)[:-1]
    assert lines(theirs)[-1].replace("ocf.py(", "demo(", 1) == lines(ours)[-1]
    assert levels(ours) == ["DEBUG", "INFO", "WARNING", "ERROR", "ERROR"]


def test_upstream_and_ours_agree_on_the_debug_log_and_syslog(tmp_path):
    logs = {n: tmp_path / n for n in ("up.log", "up.debug", "our.log", "our.debug")}
    common = {"HA_debug": "1", "HA_DATEFMT": "%Y ", "HA_LOGFACILITY": "daemon"}
    out = run_both(
        tmp_path,
        dict(common, HA_LOGFILE=str(logs["up.log"]), HA_DEBUGLOG=str(logs["up.debug"])),
        dict(common, HA_LOGFILE=str(logs["our.log"]), HA_DEBUGLOG=str(logs["our.debug"])),
    )
    theirs, ours = lines(logs["up.debug"]), lines(logs["our.debug"])
    assert theirs[:-1] == ours[:-1] and theirs[-1].replace("ocf.py(", "demo(", 1) == ours[-1]
    # syslog: the same priorities and "LEVEL: text" messages, in turn (upstream, ours)
    assert out["syslog"][0::2] == out["syslog"][1::2]
    assert [m for _, m in out["syslog"][0::2]][:2] == ["DEBUG: debug line 1", "INFO: info line 1"]
    # Where they differ, ours follows ocf-shellfuncs: debug lines go to HA_DEBUGLOG, not
    # also to HA_LOGFILE.
    assert levels(logs["up.log"])[0] == "DEBUG" and "DEBUG" not in levels(logs["our.log"])


def test_without_ha_debug_upstream_drops_info_lines_and_ours_keeps_them(tmp_path):
    """ocf.py logs only warnings and errors unless HA_debug is set; ocf-shellfuncs (and
    xenha) log info lines always and debug lines with HA_debug."""
    theirs, ours = tmp_path / "upstream.log", tmp_path / "ours.log"
    run_both(tmp_path, {"HA_LOGFILE": str(theirs)}, {"HA_LOGFILE": str(ours)})
    assert levels(theirs) == ["WARNING", "ERROR", "ERROR"]
    assert levels(ours) == ["INFO", "WARNING", "ERROR", "ERROR"]
    without_info = [line for line in lines(ours) if "INFO" not in line]
    assert without_info[:-1] == lines(theirs)[:-1]
