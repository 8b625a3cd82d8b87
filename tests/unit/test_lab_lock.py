"""One lab per machine: the lab lock and the state file, with fake labs in a temporary
directory (nothing here creates a namespace or touches a real lab)."""

import json
import os
import subprocess
import sys
import time

import pytest

from xenha.lab import cluster, lock
from xenha.lab.proc import PidFile, start_time


@pytest.fixture
def fake_lab(tmp_path, monkeypatch):
    """The lab's lock and state file in ``tmp_path``; whatever would build or remove a real
    lab fails the test."""
    monkeypatch.setattr(lock, "LOCK", tmp_path / "xenha-lab.lock")
    state_dir = tmp_path / "xenha-lab"
    monkeypatch.setattr(cluster, "STATE", state_dir)
    monkeypatch.setattr(cluster, "LAB_JSON", state_dir / "lab.json")
    monkeypatch.setattr(cluster.network, "lab_objects", lambda: [])
    calls = []

    def forbidden(name):
        def record(*args, **kw):
            calls.append(name)
            raise AssertionError("%s must not run here" % name)

        return record

    monkeypatch.setattr(cluster, "_remove", forbidden("_remove"))
    monkeypatch.setattr(cluster.Lab, "_build", forbidden("_build"))
    return state_dir, calls


def write_state(state_dir, owner, **extra):
    state_dir.mkdir(exist_ok=True)
    state = dict({"id": "their-lab", "hosts": 3, "quorum": "majority", "undo": []}, **extra)
    if owner:
        state["owner"] = owner
    (state_dir / "lab.json").write_text(json.dumps(state))


def dead_owner():
    return {"pid": os.getpid(), "start": -1, "command": "xenha lab up", "since": time.time()}


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def test_up_refuses_while_the_owner_of_the_lab_runs(fake_lab):
    state_dir, calls = fake_lab
    write_state(state_dir, lock.owner())
    with pytest.raises(lock.LabBusy, match=r"a lab is already up \(3 hosts, quorum majority, "):
        cluster.Lab(2).up(progress=lambda m: None)
    assert calls == []  # nothing removed, nothing built


def test_up_refuses_while_a_process_of_the_lab_runs(fake_lab, sleeper):
    # `xenha lab up` has returned (its owner is gone), the lab's machines still run.
    state_dir, calls = fake_lab
    write_state(state_dir, dead_owner())
    (state_dir / "host1").mkdir()
    PidFile(state_dir / "host1" / "init.pid").write(sleeper.pid)
    with pytest.raises(lock.LabBusy, match="xenha lab down` takes it down"):
        cluster.Lab(2).up(progress=lambda m: None)
    assert calls == []


def test_a_stale_lab_is_removed_before_the_next_one_comes_up(fake_lab, monkeypatch):
    state_dir, calls = fake_lab
    write_state(state_dir, dead_owner())
    (state_dir / "bmc-host1.pid").write_text("999999999 1\n")  # long gone
    monkeypatch.setattr(cluster, "_remove", lambda: calls.append("_remove"))
    monkeypatch.setattr(cluster.Lab, "_build", lambda *a: calls.append("_build"))
    said = []
    cluster.Lab(2).up(progress=said.append)
    assert calls == ["_remove", "_build"]
    assert said[0].startswith("removing a stale lab (3 hosts, quorum majority, brought up by pid")


def test_up_refuses_a_lab_network_that_no_state_accounts_for(fake_lab, monkeypatch):
    _, calls = fake_lab
    monkeypatch.setattr(cluster.network, "lab_objects", lambda: ["xhlab-host1", "xhlab0"])
    with pytest.raises(lock.LabBusy, match=r"lab network is there \(xhlab-host1, xhlab0\)"):
        cluster.Lab(2).up(progress=lambda m: None)
    assert calls == []


def test_a_lab_takes_down_only_its_own_lab(fake_lab, monkeypatch):
    state_dir, _ = fake_lab
    write_state(state_dir, lock.owner())
    removed = []
    monkeypatch.setattr(cluster, "_remove", lambda: removed.append(True))
    assert cluster.Lab(2).down() is False  # never brought up
    mine = cluster.Lab.current()
    assert mine.id == "their-lab" and mine.down() is True
    assert removed == [True]


def test_the_lock_is_exclusive_names_its_holder_and_dies_with_it(tmp_path):
    path = tmp_path / "xenha-lab.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from xenha.lab import lock\n"
            "with lock.held('bringing a lab up', path=sys.argv[1]):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        universal_newlines=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        busy = pytest.raises(lock.LabBusy, match=r"pid %d, `.*`, bringing a lab up" % holder.pid)
        with busy, lock.held("taking the lab down", wait=0.3, path=path):
            pass
    finally:
        holder.kill()
        holder.wait()
    # Once its holder is gone the lock is free; a transition inside one does not wait.
    with lock.held("taking the lab down", wait=5, path=path), lock.held("configuring", path=path):
        assert "taking the lab down" in path.read_text()


def test_owner_identity_survives_a_recycled_pid():
    me = lock.owner()
    assert me["pid"] == os.getpid() and me["start"] == start_time(os.getpid())
    assert lock.owner_alive({"owner": me})
    assert not lock.owner_alive({"owner": dict(me, start=me["start"] + 1)})
    assert not lock.owner_alive({})


def test_no_lab_and_a_state_directory_without_a_state_file(tmp_path):
    assert lock.check_free(tmp_path / "xenha-lab" / "lab.json") is None
    (tmp_path / "xenha-lab").mkdir()
    assert lock.check_free(tmp_path / "xenha-lab" / "lab.json") == {}
