"""Meatware: a person cuts the power and confirms with ``xenha fence confirm NODE``.

The agent writes a request ``<dir>/<node>.request`` carrying a fresh id and
raises a critical alert; the confirmation ``<dir>/<node>.confirmed`` must
carry the same id, so a confirmation left over from an earlier fence (or
given for ``node10`` when ``node1`` is fenced) never counts. The wait is
bounded by ``power_timeout``.
"""

import json
import os
import re
import time
import uuid

from xenha import log
from xenha.errors import XenhaError
from xenha.fencing.device import OFF, Device, FenceError, Unreachable

DEFAULT_DIR = "/run/xenha/meatware"
NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def _check_node(node):
    if not node or not NODE_NAME.match(node):
        raise XenhaError("%r is not a node name (letters, digits, '.', '_', ':', '-')" % (node,))
    return node


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise FenceError("cannot read %s: %s" % (path, e)) from None


def _write(path, data):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.rename(tmp, path)


def pending(directory=DEFAULT_DIR):
    """``[(node, request)]`` of fence requests that wait for a confirmation."""
    found = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return found
    for name in names:
        if name.endswith(".request"):
            node = name[: -len(".request")]
            request = _read(os.path.join(directory, name))
            confirmed = _read(os.path.join(directory, node + ".confirmed"))
            if request and not (confirmed and confirmed.get("id") == request.get("id")):
                found.append((node, request))
    return found


def confirm(node, directory=DEFAULT_DIR):
    """Confirm that ``node`` (exactly this name) is powered off; returns the request confirmed."""
    _check_node(node)
    request = _read(os.path.join(directory, node + ".request"))
    waiting = [n for n, _ in pending(directory)]
    if request is None or node not in waiting:
        raise XenhaError(
            "no fence request waits for node %r (waiting: %s)"
            % (node, ", ".join(waiting) or "none")
        )
    _write(
        os.path.join(directory, node + ".confirmed"),
        {"id": request["id"], "at": time.time(), "by": os.environ.get("SUDO_USER", "")},
    )
    log.critical("operator confirmed that node %s is powered off", node)
    return request


class MeatwareDevice(Device):
    needs_secret = False
    can_power_on = False
    check_first = False  # every fence needs its own confirmation
    unreachable_hint = "nobody has confirmed yet"

    def __init__(self, opts, secret):
        super().__init__(opts, secret)
        self.directory = opts.confirm_dir
        self.requests = {}

    def targets(self, plug):
        return [_check_node(plug)]

    def set_power(self, node, state):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        request = {"id": uuid.uuid4().hex, "since": time.time(), "pid": os.getpid()}
        _write(os.path.join(self.directory, node + ".request"), request)
        self.requests[node] = request["id"]
        message = (
            "MEATWARE: power off node %s by hand, make sure it stays off, then run "
            "`xenha fence confirm %s` on %s" % (node, node, os.uname()[1])
        )
        log.critical(message)

    def get_power(self, node):
        request = _read(os.path.join(self.directory, node + ".request"))
        confirmed = _read(os.path.join(self.directory, node + ".confirmed"))
        wanted = self.requests.get(node) or (request or {}).get("id")
        if wanted and confirmed and confirmed.get("id") == wanted:
            return OFF
        raise Unreachable("no confirmation that node %s is off" % node)

    def monitor(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        if not os.access(self.directory, os.W_OK):
            raise FenceError("cannot write to %s" % self.directory)
