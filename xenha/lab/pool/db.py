"""The pool database: records per class keyed by opaque reference, with xapi's lookups."""

import copy
import uuid as uuidlib
import xmlrpc.client
from datetime import datetime, timezone

from .api_errors import Failure
from .events import Log
from .schema import BACKLINKS, CLASSES, IN_MEMORY, NULL_REF


def now_datetime():
    """xapi's DateTime: UTC, second precision."""
    return xmlrpc.client.DateTime(datetime.now(timezone.utc).strftime("%Y%m%dT%H:%M:%SZ"))


class Database:
    """One xapi database. The master's copy is the pool's; slaves hold a replica."""

    def __init__(self):
        self.tables = {cls: {} for cls in CLASSES}
        self.events = Log()  # generations for event.from

    def copy(self):
        """A backup: what xapi writes of its database, without the classes it keeps in
        memory only (the datamodel's PersistNothing: tasks)."""
        backup = copy.deepcopy(self)
        backup.forget_memory()
        return backup

    def forget_memory(self):
        """What a restarting xapi loses: every task (and so every Async call running)."""
        for cls in IN_MEMORY:
            self.tables[cls].clear()

    def create(self, cls, **fields):
        """Add a record with the class defaults; return its reference."""
        unknown = set(fields) - set(CLASSES[cls]["defaults"]) - {"uuid"}
        if unknown:
            raise ValueError("%s has no fields %s" % (cls, sorted(unknown)))
        rec = copy.deepcopy(CLASSES[cls]["defaults"])
        rec["uuid"] = fields.pop("uuid", None) or str(uuidlib.uuid4())
        if "last_updated" in rec and rec["last_updated"] is None:
            rec["last_updated"] = now_datetime()
        rec.update(fields)
        ref = "OpaqueRef:" + str(uuidlib.uuid4())
        self.tables[cls][ref] = rec
        for (src, field), (dst, setf) in BACKLINKS.items():
            if src == cls and rec.get(field, NULL_REF) != NULL_REF:
                self.tables[dst][rec[field]][setf].append(ref)
        return ref

    def record(self, cls, ref):
        """The record itself (mutable); HANDLE_INVALID for a reference of another class."""
        try:
            return self.tables[cls][ref]
        except (KeyError, TypeError):
            raise Failure("HANDLE_INVALID", cls, ref) from None

    def set(self, cls, ref, field, value):
        """Set a field, keeping xapi's reverse pointers (host.resident_VMs, …) in step."""
        rec = self.record(cls, ref)
        link = BACKLINKS.get((cls, field))
        if link:
            dst, setf = link
            old = rec[field]
            if old != NULL_REF and old in self.tables[dst]:
                self.tables[dst][old][setf].remove(ref)
            if value != NULL_REF:
                self.record(dst, value)[setf].append(ref)
        rec[field] = value

    def by_uuid(self, cls, uuid):
        for ref, rec in self.tables[cls].items():
            if rec["uuid"] == uuid:
                return ref
        raise Failure("UUID_INVALID", cls, uuid)

    def find(self, cls, **match):
        """References of the records whose fields equal ``match``."""
        return [
            ref
            for ref, rec in self.tables[cls].items()
            if all(rec.get(k) == v for k, v in match.items())
        ]

    def only(self, cls):
        """The reference of a singleton class (pool)."""
        return next(iter(self.tables[cls]))
