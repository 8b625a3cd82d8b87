"""XAPI calls: explicit handlers per class (one module each) over generic field access.

A handler is ``fn(ctx, *args)``; ``args`` are the call's parameters after the session.
"""

import copy
import functools

from ..api_errors import Failure
from ..schema import CLASSES, as_stored

CALLS = {}  # "Class.call" -> handler
READ_ONLY = set()  # explicit handlers that only read (allowed on slave-local sessions)
# Explicit calls with an Async form (the datamodel's default flags [`Session; `Async]);
# the generated field accessors have none (datamodel_utils.ml: msg_async=false).
ASYNC = set()


class Ctx:
    """One call: the pool, the xapi that serves it, and the caller's session."""

    def __init__(self, pool, host, session):
        self.pool = pool
        self.host = host
        self.session = session
        self.db = host.db


def call(name, read_only=False, has_async=True):
    """Register ``fn`` as call ``name``; ``has_async=False`` for calls the datamodel
    flags [`Session] only."""

    def register(fn):
        CALLS[name] = fn
        if read_only:
            READ_ONLY.add(name)
        if has_async:
            ASYNC.add(name)
        return fn

    return register


def handler(method):
    """The handler of a call "Class.name", or None."""
    cls, _, name = method.partition(".")
    return CALLS.get(method) or (accessors(cls).get(name) if cls in CLASSES else None)


def has_async(method):
    """Whether "Class.name" has an Async form."""
    return method in ASYNC


def methods():
    """Every "Class.name" with a handler."""
    return set(CALLS) | {"%s.%s" % (cls, name) for cls in CLASSES for name in accessors(cls)}


@functools.lru_cache(maxsize=None)
def accessors(cls):
    """The calls xapi generates for every class and field: {name: handler}."""
    spec = CLASSES[cls]
    table = {
        "get_all": lambda ctx: list(ctx.db.tables[cls]),
        "get_all_records": lambda ctx: {r: _out(rec) for r, rec in ctx.db.tables[cls].items()},
        "get_record": lambda ctx, ref: _out(ctx.db.record(cls, ref)),
        "get_by_uuid": lambda ctx, uuid: ctx.db.by_uuid(cls, uuid),
    }
    if "name_label" in spec["defaults"]:
        table["get_by_name_label"] = lambda ctx, label: ctx.db.find(cls, name_label=label)
    for field in list(spec["defaults"]) + ["uuid"]:
        table["get_" + field] = functools.partial(_get, cls, field)
    for field in spec["rw"]:
        table["set_" + field] = functools.partial(_set, cls, field)
        if isinstance(spec["defaults"][field], dict):
            table["add_to_" + field] = functools.partial(_map_add, cls, field)
            table["remove_from_" + field] = functools.partial(_map_remove, cls, field)
        elif isinstance(spec["defaults"][field], list):
            table["add_" + field] = functools.partial(_set_add, cls, field)
            table["remove_" + field] = functools.partial(_set_remove, cls, field)
    return table


def is_read_only(cls, name):
    return name.startswith("get") or "%s.%s" % (cls, name) in READ_ONLY


def _out(value):
    return copy.deepcopy(value)


def _get(cls, field, ctx, ref):
    return _out(ctx.db.record(cls, ref)[field])


def _set(cls, field, ctx, ref, value):
    try:
        value = as_stored(cls, field, value)
    except ValueError:
        raise Failure("FIELD_TYPE_ERROR", field) from None
    if type(value) is not type(CLASSES[cls]["defaults"][field]):
        raise Failure("FIELD_TYPE_ERROR", field)
    if field in ("affinity", "appliance", "default_SR") and value != "OpaqueRef:NULL":
        target = {"affinity": "host", "appliance": "VM_appliance", "default_SR": "SR"}[field]
        ctx.db.record(target, value)
    ctx.db.set(cls, ref, field, copy.deepcopy(value))
    return ""


def _map_add(cls, field, ctx, ref, key, value):
    rec = ctx.db.record(cls, ref)
    if key in rec[field]:
        raise Failure("MAP_DUPLICATE_KEY", cls, field, ref, key)
    rec[field][key] = str(value)
    return ""


def _map_remove(cls, field, ctx, ref, key):
    ctx.db.record(cls, ref)[field].pop(key, None)
    return ""


def _set_add(cls, field, ctx, ref, value):
    items = ctx.db.record(cls, ref)[field]
    if value not in items:
        items.append(value)
    return ""


def _set_remove(cls, field, ctx, ref, value):
    items = ctx.db.record(cls, ref)[field]
    if value in items:
        items.remove(value)
    return ""


def load_all():
    """Import the per-class modules so their handlers register."""
    from . import event, host, pool, session, storage, task, vm  # noqa: F401
