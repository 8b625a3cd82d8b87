"""Fence-agent plumbing: option parsing, secrets, metadata (validated against fence-agents' RNG)."""

import importlib
import os
import stat
import sys

import pytest
from lxml import etree

from xenha import install
from xenha.fencing import metadata
from xenha.fencing import options as o

RNG = "/usr/share/cluster/relaxng/metadata.rng"
SPECS = o.COMMON + o.LOGIN + (o.ipport(623), o.COMMUNITY, o.SNMP_VERSION)


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
