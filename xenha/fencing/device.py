"""What a backend implements: a power switch behind one protocol, and how it may fail."""

from xenha.errors import XenhaError

ON, OFF = "on", "off"


class FenceError(XenhaError):
    """The device said no, or said something we cannot read as ON or OFF: the action fails."""


class Unreachable(FenceError):
    """No usable answer (network error, refused, timed out): the state is unknown, not OFF.

    While polling for a new power state, this is retried until the bound expires.
    """


class Device:
    """A power switch reached through one protocol, driven by :func:`xenha.fencing.agent.run`.

    ``get_power`` returns ``ON`` or ``OFF`` or raises; it never guesses. Every
    call is bounded by the runner (``login_timeout``); backends also pass the
    timeout to their library where it takes one.
    """

    #: True when ``plug`` names what to switch (PDU outlets, VMs); False for a BMC.
    plugs = True
    #: True when ``plug`` may list several targets, split at ``plug_separator``.
    plug_lists = False
    #: True when ``outlets()`` can list the plugs (enables the ``list`` action).
    can_list = False
    #: True when the device cannot work without a password (checked by ``validate-all``).
    needs_secret = True
    #: True to read the state before switching and skip a target already there (devices
    #: refuse e.g. a hard shutdown of a halted VM); False where reading first means nothing.
    check_first = True
    #: False when nothing can switch the power back on (``reboot`` then ends once OFF).
    can_power_on = True
    #: Likely causes named when a call gets no answer within ``login_timeout``.
    unreachable_hint = "device down or wrong address"

    def __init__(self, opts, secret):
        """``secret`` is a function returning the password, called only when needed."""
        self.opts = opts
        self.secret = secret

    def targets(self, plug):
        """The things to switch for ``plug`` (a host may be fed by several outlets)."""
        return [plug]

    def get_power(self, target):
        raise NotImplementedError

    def set_power(self, target, state):
        raise NotImplementedError

    def outlets(self):
        """``[(plug, alias)]`` for the ``list`` action."""
        raise NotImplementedError

    def monitor(self):
        """Raise unless the device answers (and accepts the credentials)."""
        if self.can_list:
            self.outlets()
        else:
            self.get_power(None)

    def negotiated(self):
        """What the connection settled on where the device offers a choice (e.g. the
        IPMI cipher suite), logged once connected; None when there is nothing to tell."""
        return None

    def close(self):
        """Release the connection; called once at the end, also after failures."""
