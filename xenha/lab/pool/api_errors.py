"""XAPI failures: an error code and its string parameters, as xapi's Api_errors."""

from .wire import DISPATCHED, REFUSED


class Failure(Exception):
    """Raised by handlers; becomes {'Status': 'Failure', 'ErrorDescription': [code, *params]}."""

    origin = DISPATCHED  # where the answer comes from (wire.py)

    def __init__(self, code, *params):
        super().__init__(code, *params)
        self.code = code
        self.params = [str(p) for p in params]

    def description(self):
        return [self.code] + self.params


class Refused(Failure):
    """A failure xapi raises before it dispatches the call (api_server.ml ``callback1``:
    emergency mode), which its HTTP handler answers itself."""

    origin = REFUSED


class Unreachable(Exception):
    """The host serving a call cannot reach the host it depends on (the master): the call
    blocks, as a real slave's xapi blocks on its master connection."""


class Forward(Exception):
    """The call must travel to ``master`` over the lab network (hosts in namespaces)."""

    def __init__(self, host, master):
        super().__init__(host.name, master.name)
        self.host, self.master = host, master
