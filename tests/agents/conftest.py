"""Fixtures of the agent tests: every agent installed once by `xenha install` (and its
metadata as Pacemaker reads it), the rack behind a module's power devices, each test's
simulated pool, and a Pacemaker stand-in over it. A module describes its rack and its pool
in module constants (``MACHINES``, ``OUTLETS``, ``POOL``)."""

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.agents.ocf_harness import Pacemaker
from tests.conftest import run_xenha
from xenha import install
from xenha.lab.pool.testing import running_pool
from xenha.lab.power import testing


@pytest.fixture(scope="session")
def installed():
    """The root `xenha install --root --lab` filled (the tests are a lab: fence_xenha_ssh
    too), once per session. Every user can traverse it:
    ocf-tester runs meta-data as nobody, Pacemaker runs alert agents as hacluster (pytest's
    tmp_path is 0700)."""
    root = tempfile.mkdtemp(prefix="xenha-root-")
    os.chmod(root, 0o755)
    r = run_xenha("install", "--root", root, "--lab")
    assert r.returncode == 0, r.stderr
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def ocf_dir(installed):
    return os.path.join(installed, install.OCF_DIR)


@pytest.fixture(scope="session")
def fence_agents(installed):
    """``{name: path}`` of the installed fence agents."""
    sbin = os.path.join(installed, install.FENCE_DIR)
    return {n: os.path.join(sbin, n) for n in os.listdir(sbin) if n.startswith("fence_xenha_")}


@pytest.fixture(scope="session")
def metadata(installed):
    """``metadata(agent)``: what the installed ``agent`` (an ``install.Installable``) prints
    when Pacemaker asks for its metadata (``meta-data``; a fence agent: ``-o metadata``)."""

    def read(agent):
        action = ["meta-data"] if agent.relpath.startswith(install.OCF_DIR) else ["-o", "metadata"]
        r = subprocess.run(
            [os.path.join(installed, agent.relpath)] + action,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    return read


@pytest.fixture(scope="module")
def rack(request):
    """The rack the module's power devices switch: the module's ``MACHINES`` (default
    node1) and ``OUTLETS`` (``(number, name, machine)``, default none)."""
    machines = getattr(request.module, "MACHINES", ["node1"])
    with testing.rack(machines, getattr(request.module, "OUTLETS", ())) as r:
        yield r


@pytest.fixture(autouse=True)
def _rack_all_on(request):
    """Each test that uses the rack starts with every switch on and no fault set."""
    if "rack" in request.fixturenames:
        request.getfixturevalue("rack").reset()


@pytest.fixture
def sim(request):
    """A simulated XAPI pool for the test, as the module's ``POOL`` (running_pool's
    arguments) describes it; the test fails if any VM ever ran on two hosts at once, or
    if a master accepted a write while another powered master existed."""
    with running_pool(**getattr(request.module, "POOL", {})) as s:
        yield s
        assert s.double_runs() == []
        assert s.masters_violations() == []


@pytest.fixture
def pcmk(sim, ocf_dir):
    p = Pacemaker(sim, ocf_dir)
    yield p
    p.close()
