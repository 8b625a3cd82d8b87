"""The power truth of the lab: machines (chassis power) and PDU outlets, in one locked JSON file.

Each switch (a machine's chassis or an outlet) has a state, and two faults
tests set: ``stuck`` (commands are accepted but nothing changes — the
dangerous case a fence agent must not report as success) and ``delay``
(seconds until a command takes effect, like a real BMC's soft power-off).
A machine is powered when its chassis is on and, if outlets feed it, at
least one of them is on (dual power supplies).
"""

import contextlib
import fcntl
import importlib
import json
import os
import time

ON, OFF = "on", "off"


class Rack:
    def __init__(self, path):
        self.path = path

    @classmethod
    def create(cls, path, machines=(), outlets=(), hook=None):
        """A new rack file: ``machines`` names, ``outlets`` as ``(number, name, machine)``.

        ``hook`` (``"module:function"``) is called as ``function(machine, powered)``
        whenever a machine's real power changes, under the rack's lock and before the
        new state is saved: whoever reads OFF afterwards knows the hook has run (the lab
        cuts the host there, so an OFF read back means the host is dead).
        """
        data = {
            "machines": {m: _switch(ON) for m in machines},
            "outlets": {},
            "hook": hook,
        }
        for number, name, machine in outlets:
            sw = _switch(ON)
            sw.update(name=name, feeds=machine)
            data["outlets"][str(number)] = sw
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
        return cls(path)

    @contextlib.contextmanager
    def _locked(self, write=False):
        with open(self.path, "r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            data = json.load(f)
            before = _power(data)
            _settle(data, time.time())
            yield data
            changed = {m: p for m, p in _power(data).items() if before[m] != p}
            if changed and data.get("hook"):
                module, function = data["hook"].split(":")
                apply = getattr(importlib.import_module(module), function)
                for machine, powered in sorted(changed.items()):
                    apply(machine, powered)
            if write or changed:
                f.seek(0)
                f.truncate()
                json.dump(data, f, indent=1)

    @staticmethod
    def _get(data, kind, key):
        try:
            return data[kind][str(key)]
        except KeyError:
            raise KeyError("no %s %r in this rack" % (kind[:-1], key)) from None

    def state(self, kind, key):
        """``on`` or ``off`` of ``machines``/``outlets`` entry ``key``."""
        with self._locked() as data:
            return self._get(data, kind, key)["state"]

    def command(self, kind, key, state):
        """Ask the switch to go ``on``/``off``; honours ``stuck`` and ``delay``."""
        assert state in (ON, OFF), state
        with self._locked(write=True) as data:
            sw = self._get(data, kind, key)
            if sw["stuck"]:
                return
            if sw["delay"]:
                sw["pending"] = [state, time.time() + sw["delay"]]
            else:
                sw["state"], sw["pending"] = state, None

    def configure(self, kind, key, **changes):
        """Set ``state``, ``stuck`` or ``delay`` directly (tests and the lab)."""
        with self._locked(write=True) as data:
            sw = self._get(data, kind, key)
            for name, value in changes.items():
                assert name in ("state", "stuck", "delay"), name
                sw[name] = value

    def reset(self):
        """Every machine and outlet on, not stuck, without delay and with nothing pending."""
        with self._locked(write=True) as data:
            for kind in ("machines", "outlets"):
                for sw in data[kind].values():
                    sw.update(state=ON, stuck=False, delay=0.0, pending=None)

    def outlets(self):
        """``[(number, name)]`` sorted by number."""
        with self._locked() as data:
            items = data["outlets"].items()
            return sorted(((int(n), sw["name"]) for n, sw in items), key=lambda x: x[0])

    def powered(self, machine):
        """True when ``machine`` really has power (chassis on and a feeding outlet on)."""
        with self._locked() as data:
            self._get(data, "machines", machine)
            return _power(data)[machine]

    def remove(self):
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


def _switch(state):
    return {"state": state, "stuck": False, "delay": 0.0, "pending": None}


def _power(data):
    """``{machine: really powered?}``: chassis on and, if outlets feed it, one of them on."""
    out = {}
    for machine, sw in data["machines"].items():
        feeds = [o for o in data["outlets"].values() if o["feeds"] == machine]
        out[machine] = sw["state"] == ON and (not feeds or any(o["state"] == ON for o in feeds))
    return out


def _settle(data, now):
    """Apply delayed commands whose time has come."""
    for kind in ("machines", "outlets"):
        for sw in data[kind].values():
            pending = sw.get("pending")
            if pending and pending[1] <= now:
                sw["state"], sw["pending"] = pending[0], None
