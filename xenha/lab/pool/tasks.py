"""The life cycle of the task an ``Async.*`` call runs as, as xapi has it.

Sources (xen-api v26.17, ocaml/xapi): server_helpers.ml ``do_dispatch`` answers the task's
reference at once and runs the call in a thread; taskHelper.ml ``make`` creates the
record (pending, no allowed operations), ``complete`` stores the result as XML-RPC
text (``Xmlrpc.to_string``: ``<value>OpaqueRef:…</value>``, ``<value></value>`` for a
call without one), ``failed`` stores the error, and ends ``cancelled`` when the error
is TASK_CANCELLED. A task is cancellable only while xenopsd runs its operation
(``register_task``: allowed_operations [cancel]); xapi_task.ml ``cancel`` only records
the request in current_operations, which nothing but xenopsd acts on (the datamodel:
the status ``cancelling`` "is not being used"). ``destroy`` of a task not yet done
marks it. db_gc_util.ml ``timeout_tasks``, on each pass of the master's database GC
(every 30 s: knob db_gc_interval), removes the marked tasks that are done and those
done for longer than 65 minutes (knob completed_task_timeout); xapi keeps tasks in
memory only, so a restart loses them all (db.py).
"""

import datetime
import time

from .api_errors import Failure, Unreachable
from .db import now_datetime
from .schema import EPOCH
from .wire import value_xml

STEP = 0.05  # how often a running call moves its progress and looks for a cancel

# Calls xenopsd runs (xapi_xenops.ml, sync_with_task): cancellable while they run.
XENOPS_CALLS = frozenset(
    "VM." + name
    for name in (
        "start",
        "start_on",
        "clean_shutdown",
        "hard_shutdown",
        "clean_reboot",
        "hard_reboot",
        "shutdown",
        "suspend",
        "resume",
        "resume_on",
        "pause",
        "unpause",
        "pool_migrate",
    )
)


def create(db, host, label, description=""):
    """A pending task on ``host`` (taskHelper.ml make); returns its reference."""
    return db.create(
        "task",
        name_label=label,
        name_description=description,
        created=now_datetime(),
        finished=EPOCH,
        resident_on=host.ref,
    )


def collect(db, completed_timeout):
    """One GC pass over ``db``'s tasks (timeout_tasks; not modelled: its 24 hours for
    a pending task, and its cap on the number of tasks kept)."""
    oldest = time.time() - completed_timeout
    for ref, task in list(db.tables["task"].items()):
        if not done(task):
            continue
        marked = "destroy" in task["current_operations"].values()
        if marked or _unix_time(task["finished"]) < oldest:
            del db.tables["task"][ref]


def _unix_time(value):
    moment = datetime.datetime.strptime(str(value), "%Y%m%dT%H:%M:%SZ")
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def done(task):
    return task["status"] in ("success", "failure", "cancelled")


def cancels(task):
    """The keys of the cancel requests in current_operations (one per task.cancel)."""
    return {k for k, op in task["current_operations"].items() if op == "cancel"}


def complete(task, value):
    """The call returned ``value`` ("" for a call without a result, as xapi's
    marshaller makes it)."""
    if task["status"] == "pending":
        task.update(allowed_operations=[], finished=now_datetime(), progress=1.0)
        task.update(result=value_xml(value), status="success")


def failed(task, description):
    """The call failed with ``description``; TASK_CANCELLED ends it cancelled."""
    if task["status"] == "pending":
        task.update(progress=1.0, error_info=list(description), finished=now_datetime())
        cancelled = description[:1] == ["TASK_CANCELLED"]
        task.update(allowed_operations=[], status="cancelled" if cancelled else "failure")


class Runner:
    """Runs one Async call in the background (a thread per task, as xapi does)."""

    def __init__(self, pool, ctx, ref, method, fn, args, injection):
        self.pool, self.ctx, self.ref = pool, ctx, ref
        self.method, self.fn, self.args, self.inj = method, fn, args, injection

    def task(self):
        return self.ctx.db.tables["task"].get(self.ref)

    def __call__(self):
        if self._wait() and not self.pool.stopping.is_set():
            with self.pool.lock:
                self._finish()

    def _wait(self):
        """While the call takes time (an injected latency; a hang never ends), its
        progress moves and, for a xenopsd call, a cancel ends it. False: stopped.

        Only a cancel made while xenopsd has the task reaches it (xapi_xenops.ml
        task_cancel: an unregistered task is "falling back to polling", which no
        xenopsd call does): one asked before is lost."""
        inj, xenops = self.inj, self.method in XENOPS_CALLS
        took = inj.latency if inj else 0.0
        start, lost = time.monotonic(), set()
        if xenops and (took or (inj and inj.hang)):
            with self.pool.lock:
                lost = self._register()
        while (inj is not None and inj.hang) or time.monotonic() - start < took:
            if self.pool.stopping.wait(STEP):
                return False
            with self.pool.lock:
                task = self.task()
                if task is None or done(task):
                    return False
                if inj.hang:
                    continue  # xenopsd is stuck: a cancel reaches nothing
                if xenops and cancels(task) - lost:
                    failed(task, ["TASK_CANCELLED", self.ref])
                    return False
                # progress as xenopsd reports it: short of 1 until the call is done
                task["progress"] = round(min(0.99, (time.monotonic() - start) / took), 2)
        if xenops:
            with self.pool.lock:
                self._set(allowed_operations=[])
        return True

    def _register(self):
        """taskHelper.ml register_task: cancellable from now on; returns the cancel
        requests made before, which xenopsd never gets."""
        task = self.task()
        if task is None or done(task):
            return set()
        task["allowed_operations"] = ["cancel"]
        return cancels(task)

    def _set(self, **fields):
        task = self.task()
        if task is not None and not done(task):
            task.update(fields)

    def _finish(self):
        task = self.task()
        if task is None:
            return
        if self.inj is not None and self.inj.error:
            failed(task, [str(e) for e in self.inj.error])
            return
        try:
            value = self.fn(self.ctx, *self.args)
        except Failure as f:
            failed(task, f.description())
        except Unreachable:
            failed(task, ["HOST_OFFLINE", self.ctx.host.ref])
        else:
            complete(task, value)
        self.ctx.db.events.scan(self.ctx.db.tables)
