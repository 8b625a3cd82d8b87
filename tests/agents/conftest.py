"""Fixtures of the OCF agent tests: the agents installed once, and a Pacemaker stand-in
over each test's simulated pool (the test module's ``sim`` fixture)."""

import shutil

import pytest

from tests.agents.ocf_harness import Pacemaker, install_agents


@pytest.fixture(scope="session")
def ocf_dir():
    root, path = install_agents()
    yield path
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pcmk(sim, ocf_dir):
    p = Pacemaker(sim, ocf_dir)
    yield p
    p.close()
