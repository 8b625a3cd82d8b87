"""Suppression records: one mail per key within the window, a bounded wait on a busy key."""

import os
import time

import pytest

from xenha.alerts.suppress import Suppressor
from xenha.errors import XenhaError


def test_a_sent_key_is_suppressed_and_an_unsent_one_is_not(tmp_path):
    s = Suppressor(str(tmp_path), 60, wait=1)
    record = s.claim("node|xs1||lost|a@b.c")
    record.close()  # not sent (delivery failed): nothing recorded
    record = s.claim("node|xs1||lost|a@b.c")
    record.sent()
    record.close()
    assert s.claim("node|xs1||lost|a@b.c") is None
    other = s.claim("node|xs1||lost|other@b.c")
    assert other is not None
    other.close()
    [name] = [n for n in os.listdir(str(tmp_path)) if os.path.getsize(str(tmp_path / n))]
    assert (tmp_path / name).read_text() == "node|xs1||lost|a@b.c\n"
    assert os.stat(str(tmp_path / name)).st_mode & 0o777 == 0o600


def test_a_key_being_sent_elsewhere_is_left_to_that_copy(tmp_path):
    """flock is per open file: a second claim here is what a concurrent agent would see."""
    s = Suppressor(str(tmp_path), 60, wait=0.3)
    first = s.claim("fencing|xs1||off:ok|a@b.c")
    started = time.monotonic()
    assert s.claim("fencing|xs1||off:ok|a@b.c") is None
    assert 0.3 <= time.monotonic() - started < 2
    first.close()


def test_a_missing_state_directory_is_a_clear_error(tmp_path):
    with pytest.raises(XenhaError, match="cannot use the alert state directory .*hacluster"):
        Suppressor(str(tmp_path / "nope"), 60, wait=1).claim("k")
