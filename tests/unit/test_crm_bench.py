"""Smoke run of tests/bench/bench_generate.py with tiny settings (figures come from the script)."""

from tests.bench import bench_generate


def test_benchmark_runs_once_small(capsys):
    assert bench_generate.main(["--hosts", "3", "--vms", "20"]) == 0
    out = capsys.readouterr().out
    assert "=> generate + crm_verify" in out
    assert "crm_simulate: lose xs1 (pool master)" in out
    assert ", 0 problems" in out
