"""Wait for the pool's next change, as XenCenter does: XAPI's event.from on the classes
`xenha status` shows, with the token kept from one wait to the next
(ocaml/xapi/xapi_event.ml). A pool that does not answer is waited for by the clock."""

import time

from xenha.errors import XenhaError

CLASSES = ["pool", "host", "host_metrics", "VM"]
SLACK = 10.0  # seconds the XAPI call may take beyond event.from's own timeout


class PoolWatch:
    def __init__(self, settings_of):
        """``settings_of(timeout)``: the XAPI settings with a call timeout."""
        self.settings_of = settings_of
        self.client = None
        self.token = None

    def wait(self, seconds):
        """Return when the pool changed (True) or ``seconds`` have passed (False)."""
        from xenha.xapi import Client

        end = time.monotonic() + seconds
        try:
            if self.client is None:
                settings = self.settings_of(seconds + SLACK)
                self.client = Client(settings, "xenha-status-watch", cache_dir=None)
                self.token = self._from("", 0.0)["token"]  # now: every object, not a change
            answer = self._from(self.token, max(0.0, end - time.monotonic()))
            self.token = answer["token"]
            return bool(answer["events"])
        except (XenhaError, OSError, KeyError, TypeError):
            self.close()  # asked afresh next time (a new master, a token it does not know)
            time.sleep(max(0.0, end - time.monotonic()))
            return False

    def _from(self, token, timeout):
        return getattr(self.client.xenapi.event, "from")(CLASSES, token, timeout)

    def close(self):
        if self.client is not None:
            self.client.close()
        self.client = None
