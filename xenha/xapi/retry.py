"""Retrying XAPI's transient failures (faults.is_transient) within a caller's patience.

A failure before the request reached xapi (refused, socket missing) or that xapi
raised before running the call (HOST_STILL_BOOTING: api_server.ml checks emergency
mode before dispatch) is safe to repeat for any call. A connection reset or closed
mid-call is not: xapi may have carried the call out, and repeating
``pool.designate_new_master``, ``pool.emergency_transition_to_master``,
``pool.recover_slaves``, ``host.declare_dead``, ``VM.start_on`` or an ``Async.*``
call (a second task) would act twice. Only reads and logins (a second session is
harmless: it is cached or logged out) are repeated after a reset.
"""

from xenha import log

from .faults import is_transient

FIRST_PAUSE = 0.2  # seconds before the first retry; doubled up to MAX_PAUSE
MAX_PAUSE = 2.0
# The read-only calls xapi answers without changing anything, besides the getters.
READS = frozenset(
    (
        "session.login_with_password",
        "session.slave_local_login_with_password",
        "pool.is_slave",
        "host.is_in_emergency_mode",
    )
)


def idempotent(method):
    """Whether repeating ``method`` after a reset mid-call cannot act twice."""
    if method.startswith("Async."):
        return False
    name = method.rpartition(".")[2]
    return method in READS or name.startswith("get_")


class Retry:
    """One call's retries: :meth:`again` says whether to call once more after a failure,
    having slept the backoff; ``patience`` is a Deadline (None: never retry)."""

    def __init__(self, patience, method):
        self.patience = patience
        self.method = method
        self.pause = FIRST_PAUSE

    def again(self, e):
        if self.patience is None or not is_transient(e):
            return False
        if getattr(e, "reset", False) and not idempotent(self.method):
            return False
        if self.patience.left() < self.pause:
            return False
        log.info("XAPI %s: %s; trying again in %.1fs", self.method, e, self.pause)
        self.patience.sleep(self.pause)
        self.pause = min(self.pause * 2, MAX_PAUSE)
        return True
