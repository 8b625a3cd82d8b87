"""fence-agents' default options (delay, quiet, debug_file, version, the ones without effect)
on an installed agent, fence_xenha_ilo, against the lab IPMI BMC. Timed assertions are lower
bounds; that an action does not wait is read from its log."""

import time

import pytest

from tests.agents.fence import login, run_agent
from xenha import __version__
from xenha.lab.power import testing

AGENT = "fence_xenha_ilo"


@pytest.fixture(scope="module")
def bmc(rack):
    with testing.ipmi_bmc(rack, "node1") as bmc:
        yield bmc


@pytest.fixture
def agent(fence_agents):
    return fence_agents[AGENT]


def options(bmc, action, **extra):
    return login(bmc, action, **{"method": "ipmi", "nodename": "node1", **extra})


def argv(bmc, action, *flags):
    """The command line that asks for ``action`` (the password from its file, as on stdin)."""
    line = ["-o", action, "-m", "ipmi", "-a", "127.0.0.1", "-u", str(bmc.port), "-l", bmc.user]
    return line + ["--password-file", bmc.password_file] + list(flags)


@pytest.mark.parametrize("given", ["stdin", "argv"])
def test_off_waits_for_delay_then_reads_back_off(agent, bmc, given):
    started = time.monotonic()
    if given == "stdin":
        r = run_agent(agent, options(bmc, "off", delay=2, verbose=1))
    else:
        r = run_agent(agent, argv=argv(bmc, "off", "--delay=2", "-v"))
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - started >= 2
    assert bmc.power == "off"
    assert "delay=2: waiting" in r.stderr and "read back OFF" in r.stderr


@pytest.mark.parametrize("action", ["status", "on", "monitor", "validate-all"])
def test_only_off_and_reboot_wait(agent, bmc, action):
    """A delay long past run_agent's bound (60 s): an action that waited would time out."""
    r = run_agent(agent, options(bmc, action, delay=600, verbose=1))
    assert r.returncode == 0, r.stderr
    assert "waiting" not in r.stderr


def test_quiet_writes_nothing_to_stderr(agent, bmc):
    opts = options(bmc, "status", quiet=1, verbose=1, frobnicate=1, shell_timeout=3)
    r = run_agent(agent, opts)
    assert (r.returncode, r.stdout, r.stderr) == (0, "Status: ON\n", "")
    r = run_agent(agent, options(bmc, "explode", quiet=1))
    assert (r.returncode, r.stderr) == (1, "")
    r = run_agent(agent, argv=argv(bmc, "explode", "-q"))
    assert (r.returncode, r.stderr) == (1, "")


@pytest.mark.parametrize("key", ["debug_file", "debug", "-D"])
def test_debug_file_gets_the_agents_lines(agent, bmc, tmp_path, key):
    path = tmp_path / "fence.log"
    if key == "-D":
        r = run_agent(agent, argv=argv(bmc, "off", "-D", str(path)))
    else:
        r = run_agent(agent, options(bmc, "off", **{key: path}))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # not verbose: the file gets the steps, stderr does not
    text = path.read_text()
    assert "INFO: switching power off" in text and "INFO: power read back OFF" in text


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(agent, flag):
    r = run_agent(agent, argv=[flag])
    assert (r.returncode, r.stdout) == (0, "%s (xenha) %s\n" % (AGENT, __version__))


def test_help_lists_the_default_set(agent):
    r = run_agent(agent, argv=["--help"])
    assert r.returncode == 0 and r.stdout.startswith("usage: %s" % AGENT)
    assert "--delay=[seconds]" in r.stdout and "-q, --quiet" in r.stdout


@pytest.mark.parametrize(
    "key, value",
    [
        ("shell_timeout", 3),
        ("disable_timeout", 1),
        ("agent", "fence_ipmilan"),
        ("plug_separator", ";"),
    ],
)
def test_options_without_effect_warn(agent, bmc, key, value):
    r = run_agent(agent, options(bmc, "status", **{key: value}))
    assert r.returncode == 0, r.stderr
    assert "fence_xenha_ilo: warning: option %s has no effect on %s: " % (key, AGENT) in r.stderr


def test_retry_on_without_effect_where_nothing_powers_on(fence_agents, tmp_path):
    opts = {"action": "monitor", "confirm_dir": str(tmp_path), "retry_on": 2}
    r = run_agent(fence_agents["fence_xenha_meatware"], opts)
    assert r.returncode == 0, r.stderr
    assert "option retry_on has no effect on fence_xenha_meatware: " in r.stderr


def test_unknown_key_warns_and_nodename_is_silent(agent, bmc):
    r = run_agent(agent, options(bmc, "status"))
    assert (r.returncode, r.stderr) == (0, "")  # options() gives nodename, as the fencer does
    r = run_agent(agent, options(bmc, "status", frobnicate=1))
    assert r.returncode == 0
    assert r.stderr == "fence_xenha_ilo: warning: ignoring unknown option 'frobnicate'\n"


def test_retry_on_tries_again_before_failing(agent, bmc):
    assert run_agent(agent, options(bmc, "off")).returncode == 0
    bmc.rack.configure("machines", "node1", stuck=True)
    r = run_agent(agent, options(bmc, "on", retry_on=2, power_timeout=0.5))
    assert r.returncode == 1
    assert "power on attempt 1 of 2 failed, trying again" in r.stderr
    assert "not read back ON" in r.stderr
