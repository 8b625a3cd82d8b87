"""An APC switched rack PDU (PowerNet-MIB rPDU outlets) served by net-snmp's snmpd.

``serve`` writes an snmpd configuration (communities live in that file, not in
argv) and runs ``snmpd`` on 127.0.0.1; snmpd hands the rPDU subtree to this
module's ``pass_persist`` handler, which reads and switches the rack's
outlets. ``snmpget``/``snmpset`` and fence-agents' ``fence_apc_snmp`` work
against it unchanged, since it is a real SNMP agent.
"""

import argparse
import os
import sys

from xenha.lab.power.rack import OFF, ON, Rack

RPDU = (1, 3, 6, 1, 4, 1, 318, 1, 1, 12)
SYS_OBJECT_ID = ".1.3.6.1.4.1.318.1.3.4.5"  # an APC rack PDU (fence_apc_snmp: "APC rPDU")
IDENT_NAME = RPDU + (1, 1, 0)
NUM_OUTLETS = RPDU + (1, 8, 0)
CONTROL_NAME = RPDU + (3, 3, 1, 1, 2)
CONTROL_COMMAND = RPDU + (3, 3, 1, 1, 4)  # write 1 immediateOn, 2 immediateOff, 3 immediateReboot
STATUS_INDEX = RPDU + (3, 5, 1, 1, 1)
STATUS_NAME = RPDU + (3, 5, 1, 1, 2)
STATUS_STATE = RPDU + (3, 5, 1, 1, 4)  # 1 on, 2 off
STATE_CODES = {ON: 1, OFF: 2}


def _oid(text):
    return tuple(int(x) for x in text.strip().strip(".").split("."))


def _text(oid):
    return "." + ".".join(map(str, oid))


class Mib:
    """The rPDU subtree as a sorted view of the rack's outlets."""

    def __init__(self, rack):
        self.rack = rack

    def objects(self):
        """``[(oid, type, value)]`` in OID order."""
        outlets = self.rack.outlets()
        found = [
            (IDENT_NAME, "string", "xenha lab PDU"),
            (NUM_OUTLETS, "integer", str(len(outlets))),
        ]
        for number, name in outlets:
            state = str(STATE_CODES[self.rack.state("outlets", number)])
            found += [
                (CONTROL_NAME + (number,), "string", name),
                (CONTROL_COMMAND + (number,), "integer", state),
                (STATUS_INDEX + (number,), "integer", str(number)),
                (STATUS_NAME + (number,), "string", name),
                (STATUS_STATE + (number,), "integer", state),
            ]
        return sorted(found)

    def get(self, oid):
        return next((o for o in self.objects() if o[0] == oid), None)

    def getnext(self, oid):
        return next((o for o in self.objects() if o[0] > oid), None)

    def set(self, oid, kind, value):
        """snmpd's pass_persist answer to a set request."""
        if oid[:-1] != CONTROL_COMMAND or not self.get(oid):
            return "not-writable"
        if kind != "integer":
            return "wrong-type"
        command = {"1": [ON], "2": [OFF], "3": [OFF, ON]}.get(value)
        if command is None:
            return "wrong-value"
        for state in command:
            self.rack.command("outlets", oid[-1], state)
        return "DONE"


def pass_persist(mib, stdin, stdout):
    """Answer snmpd's pass_persist protocol until stdin closes."""
    while True:
        line = stdin.readline()
        if not line:
            return
        request = line.strip()
        if not request:  # snmpd ends a set request with an empty line
            continue
        if request == "PING":
            reply = "PONG"
        elif request in ("get", "getnext"):
            oid = _oid(stdin.readline())
            found = mib.get(oid) if request == "get" else mib.getnext(oid)
            reply = "NONE" if found is None else "%s\n%s\n%s" % (_text(found[0]), *found[1:])
        elif request == "set":
            oid = _oid(stdin.readline())
            kind, _, value = stdin.readline().strip().partition(" ")
            reply = mib.set(oid, kind, value.strip('"'))
        else:
            reply = "NONE"
        stdout.write(reply + "\n")
        stdout.flush()


def snmpd_conf(port, communities, rack_path, v3_users=(), address="127.0.0.1", clients=None):
    """snmpd.conf text: listen on address:port, hand the rPDU subtree to this module;
    the communities are accepted from ``clients`` (a source address or network,
    default ``address``)."""
    lines = [
        "agentaddress udp:%s:%d" % (address, port),
        "sysObjectID %s" % SYS_OBJECT_ID,
        "sysDescr APC Web/SNMP Management Card (xenha lab rack PDU)",
        "sysName xenha-lab-pdu",
        "master no",
    ]
    for community, access in communities:
        kind = "rw" if access == "rw" else "ro"
        lines.append("%scommunity %s %s" % (kind, community, clients or address))
    for user, auth_pass, priv_pass in v3_users:
        lines.append('createUser %s SHA "%s" AES "%s"' % (user, auth_pass, priv_pass))
        lines.append("rwuser %s priv" % user)
    handler = "%s -m xenha.lab.power.apc_pdu pass-persist --rack %s" % (sys.executable, rack_path)
    lines.append("pass_persist %s %s" % (_text(RPDU), handler))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("pass-persist", help="the handler snmpd runs")
    h.add_argument("--rack", required=True)
    s = sub.add_parser("serve", help="run snmpd in the foreground with a given configuration")
    s.add_argument("--conf", required=True, help="snmpd.conf written by snmpd_conf()")
    s.add_argument("--state-dir", required=True)
    args = p.parse_args(argv)
    if args.command == "pass-persist":
        pass_persist(Mib(Rack(args.rack)), sys.stdin, sys.stdout)
        return 0
    env = dict(os.environ, SNMP_PERSISTENT_DIR=args.state_dir, MIBS="")
    argv = ["snmpd", "-f", "-Lo", "-C", "-c", args.conf, "-p", args.state_dir + "/snmpd.pid"]
    os.execvpe("snmpd", argv, env)


if __name__ == "__main__":
    sys.exit(main())
