"""Sessions like xapi's: per-originator (or per-user) caps, the oldest cancelled first.

xapi (db_gc_util.ml) groups sessions by originator when the user is root, by user name
otherwise, and anonymous root sessions together; each group has its own cap.
"""

import itertools
import time
import uuid as uuidlib

# xapi_globs.ml: max_sessions_per_originator, max_sessions_per_user_name, max_sessions.
MAX_PER_ORIGINATOR = 500
MAX_PER_USER = 500
MAX_ANONYMOUS = 400


class Session:
    __slots__ = ("ref", "uuid", "user", "originator", "local", "host", "created", "seq")

    def __init__(self, user, originator, local, host, seq):
        self.ref = "OpaqueRef:" + str(uuidlib.uuid4())
        self.uuid = str(uuidlib.uuid4())
        self.user = user
        self.originator = originator
        self.local = local
        self.host = host  # ref of the host the session was opened on
        self.created = time.time()
        self.seq = seq

    def group(self):
        if self.user not in ("", "root"):
            return ("user", self.user)
        if self.originator:
            return ("originator", self.originator)
        return ("anonymous", "")

    def record(self):
        return {
            "uuid": self.uuid,
            "this_host": self.host,
            "originator": self.originator,
            "auth_user_name": self.user,
            "is_local_superuser": True,
            "pool": False,
        }


class SessionTable:
    """The sessions one xapi knows; lost when that xapi restarts."""

    def __init__(self, caps=None):
        self.sessions = {}
        self.cancelled = 0
        self.caps = caps or {
            "originator": MAX_PER_ORIGINATOR,
            "user": MAX_PER_USER,
            "anonymous": MAX_ANONYMOUS,
        }
        self._seq = itertools.count()

    def open(self, user, originator, local, host):
        s = Session(user, originator, local, host, next(self._seq))
        self.sessions[s.ref] = s
        self._enforce_cap(s.group())
        return s

    def _enforce_cap(self, group):
        members = sorted(
            (s for s in self.sessions.values() if s.group() == group), key=lambda s: s.seq
        )
        excess = len(members) - self.caps[group[0]]
        for s in members[: max(0, excess)]:
            del self.sessions[s.ref]
            self.cancelled += 1

    def get(self, ref):
        return self.sessions.get(ref)

    def close(self, ref):
        self.sessions.pop(ref, None)

    def count(self, originator=None):
        return sum(
            1 for s in self.sessions.values() if originator is None or s.originator == originator
        )
