"""Static checks are part of the suite: lint, format, and the Python 3.6 floor on pool hosts."""

import os
import subprocess
import sys

from tests.conftest import REPO

# Everything that runs on a pool host; the lab and the tests may use newer Python.
NODE_SIDE = ["xenha", "ocf_agents", "stonith_plugins", "alert_agents"]


def run(tool, *argv):
    """Run a tool installed beside this Python (ruff, vermin)."""
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), tool)] + list(argv),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=300,
    )


def test_ruff_lint():
    r = run("ruff", "check", ".")
    assert r.returncode == 0, r.stdout


def test_ruff_format():
    r = run("ruff", "format", "--check", ".")
    assert r.returncode == 0, "run `.venv/bin/ruff format .`:\n" + r.stdout


def test_node_side_code_runs_on_python_36():
    targets = [t for t in NODE_SIDE if os.path.isdir(os.path.join(REPO, t))]
    r = run(
        "vermin", "--no-tips", "--violations", "-t=3.6-", "--exclude-regex", r"xenha/lab/", *targets
    )
    assert r.returncode == 0, r.stdout
