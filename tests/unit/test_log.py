"""One log path per process (xenha.log): the installed Log, library warnings, the bridge."""

import subprocess
import sys

from xenha import log
from xenha.fencing.agent import fence_log


def test_library_messages_go_to_the_installed_log_then_back_to_stderr(capsys, tmp_path):
    logfile = tmp_path / "agent.log"
    agent_log = log.Log("demo(rsc1)", logfile=str(logfile), stderr=None)
    with log.using(agent_log):
        assert log.current() is agent_log
        log.warning("cache %s is odd", "/x")
        log.debug("hidden without debug")
    assert log.current() is None
    log.warning("after the action")
    log.info("not shown: nobody asked for info")
    text = logfile.read_text()
    assert "demo(rsc1)[" in text and "WARNING: cache /x is odd" in text
    assert "hidden" not in text and "after the action" not in text
    assert capsys.readouterr().err == "xenha: warning: after the action\n"


def test_fence_log_errors_always_steps_with_verbose_syslog_under_the_name(monkeypatch, capsys):
    import syslog

    calls = []
    monkeypatch.setattr(syslog, "openlog", lambda *a: calls.append(("openlog",) + a))
    monkeypatch.setattr(syslog, "syslog", lambda *a: calls.append(("syslog",) + a))
    flog = fence_log("fence_demo")
    with log.using(flog):
        flog.info("switching 1 off")
        log.warning("from a library")
        flog.error("no answer")
        flog.stderr = "info"  # verbose
        flog.info("read back OFF")
    assert capsys.readouterr().err == (
        "fence_demo: warning: from a library\n"
        "fence_demo: error: no answer\n"
        "fence_demo: read back OFF\n"
    )
    assert calls[0] == ("openlog", "fence_demo", syslog.LOG_PID, syslog.LOG_DAEMON)
    assert [c[1:] for c in calls[1:]] == [
        (syslog.LOG_INFO, "switching 1 off"),
        (syslog.LOG_WARNING, "from a library"),
        (syslog.LOG_ERR, "no answer"),
        (syslog.LOG_INFO, "read back OFF"),
    ]


BRIDGE = """
import logging
from xenha import log
with log.using(log.Log("fence_demo", stderr="warning", style=log.COMMAND)):
    log.bridge_stdlib()
    logging.getLogger("paramiko.transport").info("chatter")
    logging.getLogger("paramiko.transport").warning("odd host key %s", "ssh-rsa")
"""


def test_the_bridge_routes_third_party_logging_warnings_to_the_log():
    r = subprocess.run(
        [sys.executable, "-c", BRIDGE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == "fence_demo: warning: paramiko.transport: odd host key ssh-rsa\n"


def test_an_ocf_monitor_imports_neither_logging_nor_syslog_when_all_is_well():
    code = (
        "import sys\n"
        "from xenha import ocf, log\n"
        "ocf.resource_log('demo', 'rsc', {}).info('x')\n"
        "print(sorted(m for m in ('logging', 'syslog') if m in sys.modules))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True, timeout=30
    )
    assert r.stdout.strip() == "[]"
