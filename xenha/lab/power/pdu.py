"""The lab's APC rack PDU: outlet N feeds hostN, served by net-snmp's snmpd on the lab
bridge (198.18.0.100, UDP 161) and switching the same rack as the BMCs, so an outlet
switched off really cuts its host (``xenha lab up --fencing apc`` or ``ipmi,apc``)."""

import secrets
import sys
import time

from xenha.lab import network
from xenha.lab.hosts import STATE
from xenha.lab.power.apc_pdu import snmpd_conf
from xenha.lab.proc import run, spawn, wait_for_line

ADDRESS = network.PREFIX + "100"
PORT = 161
COMMUNITY = STATE / "pdu.community"  # the write community: a secret, like a password
LOG = STATE / "pdu.log"


def outlets(hosts):
    """The rack's outlets: ``(number, name, machine)``, one per host."""
    return [(h.index, h.name, h.name) for h in hosts]


def start(rack, timeout=15.0):
    """Serve the outlets of ``rack`` (a path) as an APC PDU until the lab goes down."""
    COMMUNITY.write_text(secrets.token_urlsafe(12) + "\n")
    COMMUNITY.chmod(0o600)
    state_dir = STATE / "pdu"
    state_dir.mkdir()
    conf = state_dir / "snmpd.conf"
    community = COMMUNITY.read_text().strip()
    clients = network.PREFIX + "0/24"
    conf.write_text(snmpd_conf(PORT, [(community, "rw")], rack, address=ADDRESS, clients=clients))
    conf.chmod(0o600)
    run(["ip", "addr", "add", ADDRESS + "/24", "dev", network.BRIDGE])
    argv = [sys.executable, "-m", "xenha.lab.power.apc_pdu", "serve", "--conf", str(conf)]
    proc = spawn(argv + ["--state-dir", str(state_dir)], LOG, STATE / "pdu.pid")
    wait_for_line(proc, LOG, "NET-SNMP version", time.monotonic() + timeout, "the lab PDU")
