"""XAPI calls: explicit handlers per class (one module each) over generic field access.

A handler is ``fn(ctx, *args)``; ``args`` are the call's parameters after the session.
"""

import copy

from ..api_errors import Failure
from ..schema import CLASSES

CALLS = {}  # "Class.call" -> handler
READ_ONLY = set()  # explicit handlers that only read (allowed on slave-local sessions)


class Ctx:
    """One call: the pool, the xapi that serves it, and the caller's session."""

    def __init__(self, pool, host, session):
        self.pool = pool
        self.host = host
        self.session = session
        self.db = host.db


def call(name, read_only=False):
    def register(fn):
        CALLS[name] = fn
        if read_only:
            READ_ONLY.add(name)
        return fn

    return register


def generic(cls, name):
    """The accessor xapi generates for every class and field, or None."""
    spec = CLASSES[cls]
    fields = set(spec["defaults"]) | {"uuid"}
    rw = spec["rw"]
    if name == "get_all":
        return lambda ctx: list(ctx.db.tables[cls])
    if name == "get_all_records":
        return lambda ctx: {r: _out(rec) for r, rec in ctx.db.tables[cls].items()}
    if name == "get_record":
        return lambda ctx, ref: _out(ctx.db.record(cls, ref))
    if name == "get_by_uuid":
        return lambda ctx, uuid: ctx.db.by_uuid(cls, uuid)
    if name == "get_by_name_label" and "name_label" in fields:
        return lambda ctx, label: ctx.db.find(cls, name_label=label)
    verb, _, field = name.partition("_")
    if verb == "get" and field in fields:
        return lambda ctx, ref: _out(ctx.db.record(cls, ref)[field])
    if verb == "set" and field in rw:
        return lambda ctx, ref, value: _set(ctx, cls, ref, field, value)
    field = name[len("add_to_") :]
    if name.startswith("add_to_") and field in rw and isinstance(spec["defaults"][field], dict):
        return lambda ctx, ref, key, value: _map_add(ctx, cls, ref, field, key, value)
    field = name[len("remove_from_") :]
    if (
        name.startswith("remove_from_")
        and field in rw
        and isinstance(spec["defaults"][field], dict)
    ):
        return lambda ctx, ref, key: _map_remove(ctx, cls, ref, field, key)
    for prefix, fn in (("add_", _set_add), ("remove_", _set_remove)):
        field = name[len(prefix) :]
        if name.startswith(prefix) and field in rw and isinstance(spec["defaults"][field], list):
            return lambda ctx, ref, value: fn(ctx, cls, ref, field, value)
    return None


def is_read_only(cls, name):
    return name.startswith("get") or "%s.%s" % (cls, name) in READ_ONLY


def _out(value):
    return copy.deepcopy(value)


def _set(ctx, cls, ref, field, value):
    default = CLASSES[cls]["defaults"][field]
    if not isinstance(value, type(default)):
        raise Failure("FIELD_TYPE_ERROR", field)
    if field in ("affinity", "appliance", "default_SR") and value != "OpaqueRef:NULL":
        target = {"affinity": "host", "appliance": "VM_appliance", "default_SR": "SR"}[field]
        ctx.db.record(target, value)
    ctx.db.set(cls, ref, field, copy.deepcopy(value))
    return ""


def _map_add(ctx, cls, ref, field, key, value):
    rec = ctx.db.record(cls, ref)
    if key in rec[field]:
        raise Failure("MAP_DUPLICATE_KEY", cls, field, ref, key)
    rec[field][key] = str(value)
    return ""


def _map_remove(ctx, cls, ref, field, key):
    ctx.db.record(cls, ref)[field].pop(key, None)
    return ""


def _set_add(ctx, cls, ref, field, value):
    items = ctx.db.record(cls, ref)[field]
    if value not in items:
        items.append(value)
    return ""


def _set_remove(ctx, cls, ref, field, value):
    items = ctx.db.record(cls, ref)[field]
    if value in items:
        items.remove(value)
    return ""


def load_all():
    """Import the per-class modules so their handlers register."""
    from . import host, pool, session, storage, task, vm  # noqa: F401
