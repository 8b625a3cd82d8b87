"""event.from (ocaml/xapi/xapi_event.ml ``from``): the changes since a token, waiting up
to ``timeout`` seconds for one. An empty answer comes only when the time is up.
event.inject (xapi_event.ml ``inject``): an artificial ``mod`` of one object, and the
token an event.from sees it after."""

from ..api_errors import Failure
from . import _out, call

# xapi batches event.from: 50 ms before the first look and between two (xapi_globs.ml
# event_from_delay); the dispatcher waits this long between two looks.
DELAY = 0.05


class Pending(Exception):
    """Nothing yet: look again after DELAY, until ``timeout`` s from the call's start,
    then answer ``empty``."""

    def __init__(self, timeout, empty):
        super().__init__(timeout)
        self.timeout = timeout
        self.empty = empty


def token_text(generation):
    return "%020d,%020d" % (generation, 0)


def token_of(text):
    """xapi's token: "GENERATION,MESSAGE_GENERATION" (each 20 digits), "" for the start."""
    if text == "":
        return 0
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise Failure("EVENT_FROM_TOKEN_PARSE_FAILURE", text)
    return int(parts[0])


def subscriptions(classes):
    """``wanted(class, ref)`` for xapi's subscriptions: "*", "class" or "class/ref"."""
    subs = []
    for text in classes:
        if text == "*":
            subs.append((None, None))
            continue
        cls, sep, ref = text.partition("/")
        if not cls:
            raise Failure("EVENT_SUBSCRIPTION_PARSE_FAILURE", text)
        subs.append((cls.lower(), ref if sep else None))

    def wanted(cls, ref):
        return any(c is None or (c == cls.lower() and r in (None, ref)) for c, r in subs)

    return wanted


@call("event.from", read_only=True, has_async=False)
def event_from(ctx, classes, token, timeout):
    since = token_of(token)
    wanted = subscriptions(classes)
    ctx.db.events.scan(ctx.db.tables)
    adds, mods, dels, last = ctx.db.events.since(since, wanted)
    tables = ctx.db.tables

    def event(op, generation, cls, ref):
        out = {"id": str(generation), "timestamp": "0.0", "class": cls.lower()}
        out.update(operation=op, ref=ref)
        if op != "del":
            out["snapshot"] = _out(tables[cls][ref])
        return out

    events = [event("add", *e) for e in adds] + [event("mod", *e) for e in mods]
    events += [event("del", *e) for e in dels]
    answer = {
        "events": events,
        "valid_ref_counts": {cls.lower(): len(t) for cls, t in tables.items()},
        "token": token_text(last),
    }
    if not events:
        raise Pending(float(timeout), answer)
    return answer


@call("event.inject", has_async=False)
def inject(ctx, cls, ref):
    """The class must be the table ``ref`` is in, spelt as xapi's database spells it
    ("VM", "pool"), else HANDLE_INVALID [class, ref]. The token is the generation
    before the touch, so that an event.from from it sees the object."""
    if ref not in ctx.db.tables.get(cls, {}):
        raise Failure("HANDLE_INVALID", cls, ref)
    ctx.db.events.scan(ctx.db.tables)  # what changed before gets its own generation
    return token_text(ctx.db.events.touch(cls, ref) - 1)
