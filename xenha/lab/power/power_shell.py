"""The forced command of the lab's sshd: a DRAC-like ``racadm`` and a plain ``power`` command.

sshd runs ``python -m xenha.lab.power.power_shell --rack FILE --machine NAME``
for every key in the lab's authorized_keys; the command the client asked for
is in ``SSH_ORIGINAL_COMMAND``:

* ``racadm serveraction powerdown|powerup|powercycle|powerstatus`` (machine NAME)
* ``power off|on|status MACHINE`` (any machine of the rack)
"""

import argparse
import os
import sys

from xenha.lab.power.rack import OFF, ON, Rack

RACADM = {"powerdown": [OFF], "powerup": [ON], "powercycle": [OFF, ON]}


def racadm(rack, machine, action):
    if action == "powerstatus":
        print("Server power status: %s" % rack.state("machines", machine).upper())
        return 0
    if action not in RACADM:
        print("ERROR: Invalid subcommand value %s" % action, file=sys.stderr)
        return 1
    for state in RACADM[action]:
        rack.command("machines", machine, state)
    print("Server power operation successful")
    return 0


def power(rack, action, machine):
    try:
        if action == "status":
            print("%s is %s" % (machine, rack.state("machines", machine).upper()))
        elif action in (ON, OFF):
            rack.command("machines", machine, action)
        else:
            raise KeyError("unknown action %r" % action)
    except KeyError as e:
        print("error: %s" % e.args[0], file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rack", required=True)
    p.add_argument("--machine", required=True, help="the machine racadm controls")
    args = p.parse_args(argv)
    rack = Rack(args.rack)
    words = os.environ.get("SSH_ORIGINAL_COMMAND", "").split()
    if words[:2] == ["racadm", "serveraction"] and len(words) == 3:
        return racadm(rack, args.machine, words[2])
    if words[:1] == ["power"] and len(words) == 3:
        return power(rack, words[1], words[2])
    print("error: this shell only runs racadm serveraction and power commands", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
