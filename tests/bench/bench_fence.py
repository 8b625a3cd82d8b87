"""Time from `off` to confirmed OFF: our agents vs fence-agents' own, on the same lab device.

    .venv/bin/python tests/bench/bench_fence.py [--rounds N] [--device-delay S]

Side by side, alternating which agent goes first each round: fence_xenha_ilo
(method=ipmi) vs fence_ipmilan against one lab IPMI BMC, fence_xenha_apc vs
fence_apc_snmp against one lab APC PDU. ``--device-delay`` is how long the
device takes to actually cut the power after the command. Prints each
agent's median and the ratio ours/theirs (target <= 0.25). Prints figures;
asserts nothing about them.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from xenha import install  # noqa: E402
from xenha.lab.power import testing  # noqa: E402


def run(argv, stdin):
    started = time.monotonic()
    r = subprocess.run(
        argv,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    if r.returncode != 0:
        raise SystemExit("%s failed (exit %d): %s" % (argv[0], r.returncode, r.stderr.strip()))
    return elapsed


def lines(**options):
    return "".join("%s=%s\n" % kv for kv in options.items())


def compare(title, ours, theirs, reset, rounds):
    """Alternate ours/theirs ``rounds`` times; return (median ours, median theirs)."""
    times = {"ours": [], "theirs": []}
    for i in range(rounds):
        order = [("ours", ours), ("theirs", theirs)]
        if i % 2:
            order.reverse()
        for key, (argv, stdin, check_off) in order:
            reset()
            times[key].append(run(argv, stdin))
            if not check_off():
                raise SystemExit("%s: %s reported success but power is not OFF" % (title, key))
    m_ours, m_theirs = statistics.median(times["ours"]), statistics.median(times["theirs"])
    print(
        "%-40s ours %6.3fs   theirs %6.3fs   ratio %.2f   (%d rounds)"
        % (title, m_ours, m_theirs, m_ours / m_theirs, rounds)
    )
    return m_ours, m_theirs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--device-delay", type=float, default=0.2)
    args = p.parse_args(argv)
    outlets = [(1, "node1", "node1")]
    with tempfile.TemporaryDirectory(prefix="xenha-bench-") as root, testing.rack(
        ["node1"], outlets
    ) as rack, testing.ipmi_bmc(rack, "node1") as bmc, testing.apc_pdu(rack) as pdu:
        install.install(root)
        sbin = os.path.join(root, install.FENCE_DIR)

        def reset_machine():
            rack.configure("machines", "node1", state="on", delay=args.device_delay)

        def reset_outlets():
            rack.configure("outlets", 1, state="on", delay=args.device_delay)

        ipmi = dict(ip="127.0.0.1", ipport=bmc.port, username=bmc.user, action="off")
        ours_ipmi = dict(ipmi, method="ipmi", password_file=bmc.password_file)
        print(
            "device delay %.2fs; median time from `off` to exit with OFF confirmed"
            % (args.device_delay)
        )
        compare(
            "IPMI: fence_xenha_ilo vs fence_ipmilan",
            (
                [os.path.join(sbin, "fence_xenha_ilo")],
                lines(**ours_ipmi),
                lambda: bmc.power == "off",
            ),
            (
                ["fence_ipmilan"],
                lines(password=bmc.password, lanplus=1, **ipmi),
                lambda: bmc.power == "off",
            ),
            reset_machine,
            args.rounds,
        )
        apc = dict(ip="127.0.0.1", ipport=pdu.port, community=pdu.write_community, action="off")
        compare(
            "APC: fence_xenha_apc vs fence_apc_snmp",
            (
                [os.path.join(sbin, "fence_xenha_apc")],
                lines(plug="node1", **apc),
                lambda: not rack.powered("node1"),
            ),
            (["fence_apc_snmp"], lines(plug="1", **apc), lambda: pdu.outlet(1) == "off"),
            reset_outlets,
            args.rounds,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
