"""Smoke run of the simulator benchmark with tiny settings: it runs and prints figures."""

import os
import re
import subprocess
import sys

from tests.conftest import REPO


def test_benchmark_prints_medians():
    r = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "tests", "bench", "bench_lab_pool.py"),
            "--calls",
            "20",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout
    rows = re.findall(r"^(SDK|Client) \S+ +([\d.]+) +([\d.]+) +([\d.]+)$", r.stdout, re.M)
    assert len(rows) == 4, r.stdout
