"""task.*: what Async calls return (xapi's task.ml / taskHelper.ml)."""

from ..api_errors import Failure
from ..db import now_datetime
from . import call


@call("task.cancel")
def cancel(ctx, ref):
    """Ask a pending task to stop; the call it runs notices between its steps."""
    task = ctx.db.record("task", ref)
    if "cancel" not in task["allowed_operations"]:
        raise Failure("OPERATION_NOT_ALLOWED", "task %s is %s" % (ref, task["status"]))
    task["status"], task["allowed_operations"] = "cancelling", []
    return ""


@call("task.create")
def create(ctx, label, description):
    """A task a client makes for its own work (xapi_task.ml create): pending, on this host."""
    return ctx.db.create(
        "task",
        name_label=label,
        name_description=description,
        created=now_datetime(),
        resident_on=ctx.host.ref,
    )


@call("task.destroy")
def destroy(ctx, ref):
    ctx.db.record("task", ref)
    del ctx.db.tables["task"][ref]
    return ""


def finish(task, status, result="", error=()):
    """A task's end: success with its result, failure or cancelled with error_info."""
    task.update(status=status, result=result, error_info=list(error), progress=1.0)
    task["finished"], task["allowed_operations"] = now_datetime(), []
