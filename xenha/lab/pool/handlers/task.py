"""task.*: the records Async calls run as (ocaml/xapi/xapi_task.ml; the life cycle is
in ..tasks)."""

import uuid

from .. import tasks
from . import call


@call("task.cancel")
def cancel(ctx, ref):
    """xapi_task.ml cancel: the request goes in current_operations, under the calling
    task's reference (replacing what was there), and nothing is refused: a task that
    is not cancellable, or is done, goes on as if not asked (the datamodel: "a task
    may fail to be cancelled and may complete or fail normally")."""
    task = ctx.db.record("task", ref)
    task["current_operations"] = {"OpaqueRef:" + str(uuid.uuid4()): "cancel"}
    return ""


@call("task.create", has_async=False)
def create(ctx, label, description):
    """A task a client makes for its own work (xapi_task.ml create): pending, on this host."""
    return tasks.create(ctx.db, ctx.host, label, description)


@call("task.destroy", has_async=False)
def destroy(ctx, ref):
    """A task that is done goes now; one still running is marked, and goes at db_gc's
    first pass after it is done (xapi_task.ml destroy)."""
    task = ctx.db.record("task", ref)
    if tasks.done(task):
        del ctx.db.tables["task"][ref]
    else:
        task["current_operations"]["task"] = "destroy"
    return ""


def _setter(field):
    """task.set_<field> (xapi_task.ml): what a client's own task says of its work."""

    def set_field(ctx, ref, value):
        ctx.db.record("task", ref)[field] = float(value) if field == "progress" else value
        return ""

    return set_field


for _field in ("status", "progress", "result", "error_info"):
    call("task.set_" + _field, has_async=False)(_setter(_field))
