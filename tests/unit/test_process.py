"""exit_now: an agent's output survives the quick exit, and so does its exit code."""

import subprocess
import sys

from tests.conftest import REPO


def run(code):
    return subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, %r)\n%s" % (REPO, code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=30,
    )


def test_buffered_output_is_flushed_and_the_code_kept():
    r = run(
        "from xenha.process import exit_now\n"
        "sys.stdout.write('x' * 100000)\n"
        "sys.stderr.write('reason')\n"
        "exit_now(7)\n"
    )
    assert (r.returncode, len(r.stdout), r.stderr) == (7, 100000, "reason")


def test_lost_output_is_never_success():
    r = run(
        "import io, os\n"
        "from xenha.process import exit_now\n"
        "sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False)))\n"
        "sys.stdout.write('Status: OFF')\n"
        "os.close(1)\n"
        "exit_now(0)\n"
    )
    assert r.returncode == 120
