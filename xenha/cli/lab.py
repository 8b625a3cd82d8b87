"""`xenha lab …`: the local lab. `xenha lab sim` serves a simulated XAPI pool."""


def register(sub):
    p = sub.add_parser(
        "lab",
        help="the local lab: simulators and scenarios",
        description="The local lab. Run `xenha lab COMMAND --help` for a command's options.",
    )
    lab = p.add_subparsers(dest="lab_command", metavar="COMMAND")
    lab.required = True
    s = lab.add_parser(
        "sim",
        help="serve a simulated XAPI pool on loopback and print its endpoints",
        description="Serve a simulated XAPI pool: one XML-RPC endpoint per host on its own "
        "loopback address (same port for all), until interrupted. The password file, the "
        "endpoints and the control URL (sim.* calls) are printed.",
    )
    from xenha.lab.xapisim.options import add_arguments

    add_arguments(s)
    s.set_defaults(func=run_sim)


def run_sim(args):
    from xenha.lab.xapisim.run import run

    return run(args)
