"""Shared test helpers: run the installed `xenha` command from this virtualenv."""

import os
import subprocess
import sys

import pytest

BIN = os.path.dirname(sys.executable)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_xenha(*args, **kw):
    """Run the `xenha` console script; return the CompletedProcess (text, both streams)."""
    return subprocess.run(
        [os.path.join(BIN, "xenha")] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=kw.pop("timeout", 60),
        **kw,
    )


@pytest.fixture
def xenha():
    return run_xenha
