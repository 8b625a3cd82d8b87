"""HA-Lizard custom fence scripts: ``<script_dir>/<NAME>/<NAME>.sh <host-uuid> <start|stop|reset>``.

The scripts exit 0 for success and 1 for failure, and HA-Lizard took a
successful ``stop`` as "the host is off". xenha reads the state back with
``<NAME>.sh <host-uuid> status`` (exit 0 ON, 2 OFF, as fence agents do);
for a script that only knows start/stop/reset, ``stop_confirms_off=1`` keeps
HA-Lizard's behaviour — only as safe as the script itself.
"""

import os
import re
import stat

from xenha import process
from xenha.fencing.device import OFF, ON, Device, FenceError, Unreachable

DEFAULT_DIR = "/etc/ha-lizard/fence"
SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
VERBS = {ON: "start", OFF: "stop"}


class ScriptDevice(Device):
    needs_secret = False
    check_first = False  # HA-Lizard scripts need not know `status`; run them as they expect
    unreachable_hint = "the script did not finish"

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        name = opts.script_name
        if not SAFE.match(name):
            raise FenceError("script_name %r must be a plain name" % name)
        self.path = os.path.join(opts.script_dir, name, name + ".sh")
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise FenceError("fence script %s: %s" % (self.path, e.strerror)) from None
        if not os.access(self.path, os.X_OK):
            raise FenceError("fence script %s is not executable" % self.path)
        if st.st_uid not in (0, os.geteuid()) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise FenceError(
                "fence script %s may be changed by other users (owner uid %d, mode %04o); "
                "it must belong to root and not be group/world-writable"
                % (self.path, st.st_uid, stat.S_IMODE(st.st_mode))
            )
        self.stopped = set()

    def targets(self, plug):
        if not SAFE.match(plug):
            raise FenceError("plug %r is not a host UUID or name" % plug)
        return [plug]

    def _run(self, host, verb):
        bound = self.opts.login_timeout * 0.9
        try:
            rc, out, err = process.run([self.path, host, verb], bound)
        except OSError as e:
            raise FenceError("cannot run %s: %s" % (self.path, e.strerror)) from None
        except process.CommandTimeout:
            raise Unreachable(
                "%s %s %s did not finish within %gs" % (self.path, host, verb, bound)
            ) from None
        return rc, (out + err).strip()[-300:]

    def set_power(self, host, state):
        rc, out = self._run(host, VERBS[state])
        if rc != 0:
            raise FenceError(
                "%s %s %s failed (exit %d): %s" % (self.path, host, VERBS[state], rc, out)
            )
        if state == OFF:
            self.stopped.add(host)

    def get_power(self, host):
        if self.opts.stop_confirms_off and host in self.stopped:
            return OFF
        rc, out = self._run(host, "status")
        if rc == 0:
            return ON
        if rc == 2:
            return OFF
        raise FenceError(
            "%s %s status exited %d, so the power state is unknown (exit 0 = on, 2 = off; "
            "for a script without status set stop_confirms_off=1): %s" % (self.path, host, rc, out)
        )

    def monitor(self):
        """The script was found and is safe to run (checked when opening the device)."""
