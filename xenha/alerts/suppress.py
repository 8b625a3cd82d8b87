"""Duplicate suppression: one mail per event key and recipient within a window.

A key's record is a file in the state directory whose modification time is
when its mail last went out. The file is locked while the mail is being sent,
so two copies of one event (Pacemaker may raise a fencing alert twice, from
the fencer and the controller) send one mail: the second waits, then sees the
fresh record; if the first is still busy after ``wait`` seconds, the second
leaves the mail to it.
"""

import fcntl
import hashlib
import os
import time

from xenha.deadline import Deadline
from xenha.errors import XenhaError


class Suppressor:
    """Records under ``state_dir``; ``minutes`` 0 turns suppression off."""

    def __init__(self, state_dir, minutes, wait):
        self.state_dir = state_dir
        self.window = float(minutes) * 60
        self.wait = wait

    def claim(self, key):
        """An open, locked record for ``key``, or ``None`` when a mail for it is recent
        (or still being sent by another copy of the event).

        The caller sends, calls ``record.sent()`` once the mail is out, then ``record.close()``.
        """
        if self.window <= 0:
            return _NoRecord()
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        path = os.path.join(self.state_dir, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            raise XenhaError(
                "cannot use the alert state directory %s: %s (it must exist and be writable "
                "by the user Pacemaker runs alerts as, hacluster; `xenha install` creates it)"
                % (self.state_dir, e.strerror)
            ) from None
        record = os.fdopen(fd, "r+")
        if not _lock(record, self.wait):
            record.close()
            return None
        st = os.fstat(record.fileno())
        if st.st_size and time.time() - st.st_mtime < self.window:
            record.close()
            return None
        return _Record(record, key)


def _lock(f, wait):
    """Take ``f``'s lock within ``wait`` seconds; False if another process holds it."""

    def taken():
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    return Deadline(wait).poll(taken, 0.05)


class _Record:
    def __init__(self, f, key):
        self.f = f
        self.key = key

    def sent(self):
        """Record now as the time this key's mail went out (the key itself, for people)."""
        try:
            self.f.seek(0)
            self.f.truncate()
            self.f.write(self.key + "\n")
            self.f.flush()
        except OSError as e:
            raise XenhaError(
                "mail sent, but not recorded for duplicate suppression: %s" % e.strerror
            ) from None

    def close(self):
        self.f.close()


class _NoRecord:
    def sent(self):
        pass

    def close(self):
        pass
