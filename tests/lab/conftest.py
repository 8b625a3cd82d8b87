"""Lab tests need root (namespaces) and the cluster stack; they clean up even when they fail."""

import fcntl
import os
import shutil
import sys

import pytest

from xenha.lab import cluster
from xenha.lab.scenarios import evidence


def pytest_collection_modifyitems(items):
    missing = [t for t in ("corosync", "pacemakerd", "unshare", "nsenter") if not shutil.which(t)]
    reason = None
    if os.geteuid() != 0:
        reason = "lab tests need root to create network namespaces"
    elif missing:
        reason = "lab tests need %s (run `make setup`)" % ", ".join(missing)
    if reason:
        for item in items:
            if "tests/lab/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


RUN_LOCK = "/run/lock/xenha-lab-tests.lock"


@pytest.fixture(scope="session", autouse=True)
def one_lab_test_run_at_a_time():
    """The lab is machine-wide, and a lab test takes its lab down at the end, so two lab
    test runs (two checkouts) would take turns failing: the second waits for the first."""
    fd = os.open(RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("\nwaiting for another lab test run (%s)" % RUN_LOCK, file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def lab3():
    """A fresh 3-host cluster, taken down afterwards whatever happens."""
    lab = cluster.Lab(3)
    lab.up(progress=lambda msg: None)
    try:
        yield lab
        assert evidence.violations() == {"double runs": [], "two masters": []}
    finally:
        lab.down()
