"""Lab tests need root (namespaces) and the cluster stack; they clean up even when they fail."""

import os
import shutil

import pytest

from xenha.lab import cluster


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


@pytest.fixture
def lab3():
    """A fresh 3-host cluster, taken down afterwards whatever happens."""
    lab = cluster.Lab(3)
    lab.up(progress=lambda msg: None)
    try:
        yield lab
    finally:
        lab.down()
