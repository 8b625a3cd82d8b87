"""The monitor benchmark runs (once, tiny): its figures print and the session count holds."""

import os
import re
import subprocess
import sys

from tests.conftest import REPO


def test_bench_monitor_smoke():
    r = subprocess.run(
        [sys.executable, os.path.join(REPO, "tests/bench/bench_monitor.py"), "--runs", "2"]
        + ["--monitors", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout
    assert re.search(r"xen-vm monitor\s+median\s+[\d.]+ ms", r.stdout), r.stdout
    assert re.search(r"fence_xenapi -o status\s+median\s+[\d.]+ ms", r.stdout), r.stdout
    assert re.search(r"ratio xen-vm/fence_xenapi\s+[\d.]+", r.stdout), r.stdout
    before, after = re.search(r"after 5 xen-vm monitors: (\d+) / (\d+)", r.stdout).groups()
    assert before == after  # monitors reuse one cached session
