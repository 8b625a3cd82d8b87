"""xenha-boot-role: a rebooted pool master's xapi starts as its own slave."""

import subprocess
import sys

import pytest

from xenha import boot_role


@pytest.fixture
def host(tmp_path):
    """A dom0's pool.conf, xapi-pool-master's record and /run's mark, as paths."""
    paths = {k: str(tmp_path / k) for k in ("pool.conf", "record.json", "run/mark")}
    return paths


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read(path):
    with open(path) as f:
        return f.read()


def run(host, *extra):
    argv = ["--pool-conf", host["pool.conf"], "--record", host["record.json"]]
    argv += ["--boot-mark", host["run/mark"], *extra]
    return subprocess.run(
        [sys.executable, "-m", "xenha.boot_role", *argv], capture_output=True, text=True
    )


def test_a_master_with_a_record_is_parked_once_per_boot(host):
    write(host["pool.conf"], "master")
    boot_role.remember("198.18.0.11", {"198.18.0.12": "host2"}, host["record.json"])
    r = run(host)
    assert r.returncode == 0 and "its own slave (slave:198.18.0.11)" in r.stdout, r
    assert read(host["pool.conf"]) == "slave:198.18.0.11"
    write(host["pool.conf"], "master")  # promoted again; then xe-toolstack-restart
    assert run(host).returncode == 0
    assert read(host["pool.conf"]) == "master"  # not a boot: left alone


@pytest.mark.parametrize("role", ["slave:198.18.0.12", "master"])
def test_a_slave_or_a_host_without_a_record_is_left_alone(host, role):
    write(host["pool.conf"], role)
    if role != "master":  # a slave with a record: it follows its master anyway
        boot_role.remember("198.18.0.11", {}, host["record.json"])
    r = run(host)
    assert r.returncode == 0 and r.stdout == "", r
    assert read(host["pool.conf"]) == role


def test_a_corrupt_record_parks_nothing(host):
    write(host["pool.conf"], "master")
    write(host["record.json"], '{"address": ')
    assert boot_role.recall(host["record.json"]) is None
    assert run(host).returncode == 0
    assert read(host["pool.conf"]) == "master"


@pytest.mark.parametrize(
    "data",
    [
        {"address": None, "hosts": {}},
        {"address": "", "hosts": {}},
        {"address": "198.18.0.11", "hosts": {"198.18.0.12": None}},
        {"address": "198.18.0.11", "hosts": ["198.18.0.12"]},
    ],
)
def test_a_record_that_makes_no_sense_parks_nothing(host, data):
    import json

    write(host["pool.conf"], "master")
    write(host["record.json"], json.dumps(data))
    assert boot_role.recall(host["record.json"]) is None
    assert run(host).returncode == 0
    assert read(host["pool.conf"]) == "master"  # never slave:None


@pytest.mark.parametrize("text", [None, b"\xff\xfe"], ids=["missing", "not-text"])
def test_an_unreadable_pool_conf_is_a_clear_error(host, text):
    if text is not None:
        with open(host["pool.conf"], "wb") as f:
            f.write(text)
    r = run(host)
    assert r.returncode == 1 and "cannot park this host's xapi" in r.stderr, r
    assert "Traceback" not in r.stderr


def test_a_forgotten_record_parks_nothing(host):
    boot_role.remember("198.18.0.11", {}, host["record.json"])
    boot_role.forget(host["record.json"])
    boot_role.forget(host["record.json"])  # again: nothing to remove
    write(host["pool.conf"], "master")
    assert run(host).returncode == 0
    assert read(host["pool.conf"]) == "master"


def test_the_record_is_written_only_when_it_changes(host):
    path = host["record.json"]
    boot_role.remember("198.18.0.11", {"198.18.0.12": "host2"}, path)
    assert boot_role.recall(path) == boot_role.Record("198.18.0.11", {"198.18.0.12": "host2"})
    write(path + ".new", "left by a crash")
    boot_role.remember("198.18.0.11", {"198.18.0.12": "host2"}, path)
    assert read(path + ".new") == "left by a crash"  # unchanged: nothing written
    boot_role.remember("198.18.0.11", {"198.18.0.13": "host3"}, path)
    assert boot_role.recall(path).hosts == {"198.18.0.13": "host3"}


def test_help_says_what_it_does():
    r = subprocess.run(
        [sys.executable, "-m", "xenha.boot_role", "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "once per boot" in r.stdout.replace("\n", " ")
