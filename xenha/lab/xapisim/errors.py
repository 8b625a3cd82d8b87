"""XAPI failures: an error code and its string parameters, as xapi's Api_errors."""


class Failure(Exception):
    """Raised by handlers; becomes {'Status': 'Failure', 'ErrorDescription': [code, *params]}."""

    def __init__(self, code, *params):
        super().__init__(code, *params)
        self.code = code
        self.params = [str(p) for p in params]

    def description(self):
        return [self.code] + self.params


class Unreachable(Exception):
    """The host serving a call cannot reach the host it depends on (the master): the call
    blocks, as a real slave's xapi blocks on its master connection."""
