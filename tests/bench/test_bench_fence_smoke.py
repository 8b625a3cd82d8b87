"""Run the fencing benchmark once with tiny settings, so it keeps working."""

import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_fence.py")


def test_bench_fence_runs_and_prints_ratios():
    r = subprocess.run(
        [sys.executable, BENCH, "--rounds", "1", "--device-delay", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout
    lines = [line for line in r.stdout.splitlines() if "ratio" in line]
    assert [line.split(":")[0] for line in lines] == ["IPMI", "APC"], r.stdout
