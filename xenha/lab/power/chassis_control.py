"""OpenIPMI ``ipmi_sim``'s chassis control program, switching one rack machine.

``ipmi_sim`` (lan.conf: ``chassis_control "python -m xenha.lab.power.chassis_control
--rack FILE --machine NAME"``) runs it with ``get power`` to read the chassis power and
expects ``power:1`` or ``power:0``; it runs it with ``set power "1"`` (or ``"0"``,
``reset "1"``, ``shutdown "1"``) for Chassis Control. A non-zero exit makes ipmi_sim
answer the client with an error.
"""

import argparse
import sys

from xenha.lab.power.rack import OFF, ON, Rack

# parameter -> {value: the rack states a "set" goes through}; a reset needs the power on
SETTERS = {
    "power": {"1": [ON], "0": [OFF]},
    "shutdown": {"1": [OFF]},  # soft shutdown: the lab's machines just stop
    "reset": {"1": [OFF, ON]},
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rack", required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("operation", choices=("get", "set"))
    p.add_argument("args", nargs="+")
    args = p.parse_args(argv)
    rack = Rack(args.rack)
    if args.operation == "get":
        for name in args.args:
            if name != "power":
                return 1
            print("power:%d" % (rack.state("machines", args.machine) == ON))
        return 0
    pairs = list(zip(args.args[::2], args.args[1::2]))
    if len(pairs) * 2 != len(args.args) or any(v not in SETTERS.get(n, {}) for n, v in pairs):
        return 1
    for name, value in pairs:
        if name == "reset" and rack.state("machines", args.machine) != ON:
            return 1
        for state in SETTERS[name][value]:
            rack.command("machines", args.machine, state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
