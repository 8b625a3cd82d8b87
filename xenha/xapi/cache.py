"""The session cache: one XAPI session per node, originator and endpoint, shared by every
agent invocation through a root-only file, so a thousand calls leave one session."""

import errno
import fcntl
import hashlib
import json
import os
import stat

from xenha import log
from xenha.deadline import Deadline

from .faults import XapiUnreachable


def _try_lock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class SessionCache:
    """``timeout`` bounds the wait for the login lock: the process holding it may spend
    its whole login bound on it (the client's LOGIN_TIMEOUT), and an agent queueing
    behind it without a bound misses its own operation timeout (a failed stop means
    fencing)."""

    def __init__(self, directory, key, timeout):
        self.directory = directory
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        self.path = os.path.join(directory, name + ".json")
        self.timeout = timeout
        self._lock_fd = None

    def usable(self):
        """Create the directory 0700; refuse one that others can enter or we do not own."""
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            st = os.stat(self.directory)
        except OSError as e:
            log.warning("not caching XAPI sessions: %s", e)
            return False
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("not caching XAPI sessions: %s is not private to us", self.directory)
            return False
        return True

    def __enter__(self):
        """Serialise logins between processes, waiting at most ``timeout`` seconds."""
        lock = self.path + ".lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        if not Deadline(self.timeout).poll(lambda: _try_lock(fd), 0.02):
            os.close(fd)
            raise XapiUnreachable(
                "another process has been logging in to XAPI for over %gs "
                "(session lock %s held)" % (self.timeout, lock)
            )
        self._lock_fd = fd
        return self

    def __exit__(self, *exc):
        os.close(self._lock_fd)
        self._lock_fd = None

    def load(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            if getattr(e, "errno", None) != errno.ENOENT:
                log.warning("ignoring unreadable session cache %s: %s", self.path, e)
            return {}

    def save(self, entry):
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(entry, f)
        os.rename(tmp, self.path)

    def clear(self):
        try:
            os.unlink(self.path)
        except OSError:
            pass
