import argparse
import os

import pytest

from xenha import install as lib
from xenha.cli.main import build_parser


def command_paths(parser=None, prefix=()):
    """Every command and nested subcommand, e.g. ``("lab", "up")``."""
    parser = parser or build_parser()
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in sorted(action.choices.items()):
                paths.append(prefix + (name,))
                paths += command_paths(sub, prefix + (name,))
    return paths


def subcommands():
    return sorted(p[0] for p in command_paths() if len(p) == 1)


def test_top_level_help_lists_every_command(xenha):
    r = xenha("--help")
    assert r.returncode == 0
    for name in subcommands():
        assert name in r.stdout


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_useful_help(xenha, path):
    r = xenha(*(path + ("--help",)))
    assert r.returncode == 0, r.stderr
    assert "usage: xenha " + " ".join(path) in r.stdout
    assert len(r.stdout.splitlines()) > 3


@pytest.mark.parametrize("argv", [[], ["no-such-command"], ["install", "--bogus"]])
def test_bad_input_is_a_clear_error(xenha, argv):
    r = xenha(*argv)
    assert r.returncode == 2
    assert "xenha" in r.stderr and "error" in r.stderr
    assert "Traceback" not in r.stderr


def test_install_check_uninstall_round_trip(xenha, tmp_path):
    root = str(tmp_path)
    r = xenha("install", "--root", root, "--check")
    shipped = lib.shipped_agents()
    assert r.returncode == (1 if shipped else 0), r.stdout
    r = xenha("install", "--root", root)
    assert r.returncode == 0, r.stderr
    r = xenha("install", "--root", root, "--check")
    assert r.returncode == 0 and r.stdout.count("ok ") == len(shipped), r.stdout
    ocf = tmp_path / lib.OCF_DIR
    expected = sorted(
        os.path.basename(a.relpath) for a in shipped if a.relpath.startswith(lib.OCF_DIR)
    )
    assert sorted(os.listdir(str(ocf))) == expected
    r = xenha("uninstall", "--root", root)
    assert r.returncode == 0, r.stdout
    assert os.listdir(root) == []


def test_missing_root_is_a_clear_error(xenha, tmp_path):
    r = xenha("install", "--root", str(tmp_path / "nope"))
    assert r.returncode == 1
    assert "is not a directory" in r.stderr and "Traceback" not in r.stderr
