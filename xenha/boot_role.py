"""A rebooted pool master is parked: its xapi starts as its own slave, never as master.

xapi starts in the role /etc/xensource/pool.conf names. A master that was fenced (or
crashed) boots with "master" there while the cluster has made another host master
meanwhile: two masters, and while its management network is still cut nobody can tell
it so - xapi's own start-up check asks the other hosts only if it reaches them ("a
sanity check, not a guarantee": xen-api xapi.ml check_no_other_masters). XenServer's
pool HA has xapi wait at boot for the HA liveset instead (xapi_ha.ml
on_server_restart). xenha does that job before xapi starts, once per boot: pool.conf
"master" becomes "slave:<this host's address>", and xapi waits as its own slave
(emergency mode, HOST_ITS_OWN_SLAVE: xapi.ml wait_for_management_ip_address) serving
nothing, until xapi-pool-master either promotes it (it is the master the pool's
slaves follow: a cold start of the whole pool) or points it at the master the
cluster made meanwhile.

Only a host where xapi-pool-master ran as master is parked: its monitor keeps a
record (RECORD) of this host's address and the pool's other hosts, which the boot and
the parked host's agent read (a parked xapi serves no database).
"""

import argparse
import collections
import json
import os
import sys

from xenha.errors import XenhaError
from xenha.xapi.pool_conf import POOL_CONF, configured_role

RECORD = "/var/lib/xenha/pool-master/record.json"  # survives the reboot, unlike HA_RSCTMP
BOOT_MARK = "/run/xenha/boot-role.done"  # /run is empty after a boot, not after a restart

# ``address``: this host's; ``hosts``: {address: node} of the pool's other hosts.
Record = collections.namedtuple("Record", "address hosts")


def _write(path, text):
    """Write ``path`` whole, on disk before it counts: a fence may follow at once (a
    rename onto a new name is not flushed by ext4's auto_da_alloc)."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    with open(path + ".new", "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(path + ".new", path)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remember(address, hosts, path=RECORD):
    """Record that this host, at ``address``, is the master of ``hosts`` ({address:
    node}); written only when it changed (a monitor calls this every few seconds)."""
    text = json.dumps({"address": address, "hosts": hosts}, sort_keys=True) + "\n"
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    _write(path, text)


def recall(path=RECORD):
    """The :data:`Record` of the last time this host was master, None if there is none
    or it cannot be read or makes no sense (then nothing is parked: xapi's own role
    stands)."""
    try:
        with open(path) as f:
            data = json.load(f)
        address, hosts = data["address"], dict(data["hosts"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    texts = [address] + list(hosts) + list(hosts.values())
    if not all(isinstance(t, str) and t.strip() for t in texts):
        return None
    return Record(address, hosts)


def forget(path=RECORD):
    """This host follows another master: no record, so a later boot parks nothing (a
    host ejected from its pool boots as master of its own, as xapi means it to)."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def park(pool_conf=POOL_CONF, record=RECORD):
    """Before xapi starts: if pool.conf says master and this host has a record, write
    ``slave:<its address>``; return the address, or None when nothing was parked."""
    if configured_role(pool_conf) is not None:
        return None  # a slave follows its master: nothing to do
    seen = recall(record)
    if seen is None:
        return None
    _write(pool_conf, "slave:%s" % seen.address)
    return seen.address


def _mark(path):
    try:
        _write(path, "")
    except OSError as e:
        print("xenha-boot-role: cannot write %s: %s" % (path, e), file=sys.stderr)


def main(argv=None):
    """``xenha-boot-role``: run before xapi starts (installed as a drop-in of xapi.service);
    acts once per boot, so a toolstack restart of a master leaves it master."""
    parser = argparse.ArgumentParser(
        prog="xenha-boot-role",
        description="Park a rebooted pool master: its xapi starts as its own slave until "
        "the cluster's xapi-pool-master promotes it or points it at the current master. "
        "Acts once per boot; a later xapi start (xe-toolstack-restart) is left alone.",
    )
    parser.add_argument("--pool-conf", default=POOL_CONF, help="xapi's role file")
    parser.add_argument("--record", default=RECORD, help="xapi-pool-master's record")
    parser.add_argument(
        "--boot-mark", default=BOOT_MARK, help="exists once this boot was handled (on tmpfs)"
    )
    args = parser.parse_args(argv)
    if os.path.exists(args.boot_mark):
        sys.exit(0)
    try:
        address = park(args.pool_conf, args.record)
    except (XenhaError, OSError) as e:
        print("xenha-boot-role: cannot park this host's xapi: %s" % e, file=sys.stderr)
        sys.exit(1)
    finally:  # once per boot, even when it failed: a later start is a restart
        _mark(args.boot_mark)
    if address is not None:
        print(
            "xenha-boot-role: this host was the pool master; its xapi starts as its own "
            "slave (slave:%s) until the cluster promotes it or names the current master" % address
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
