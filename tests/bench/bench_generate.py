"""Benchmark: description -> CIB -> crm_verify for a big pool, and crm_simulate of a host loss.

    .venv/bin/python tests/bench/bench_generate.py [--hosts 32] [--vms 1000]

Prints seconds for each step; the target for generate + crm_verify at 32 hosts
and 1,000 VMs is 5 s or less. Nothing is asserted: figures only.
"""

import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from xenha import model  # noqa: E402
from xenha.crm import render, simulate  # noqa: E402


def description(hosts, vms):
    """YAML text of a pool with ``hosts`` nodes (iLO + PDU fencing) and ``vms`` protected VMs."""
    lines = ["cluster:", "  name: bench", "  nodes:"]
    for h in range(1, hosts + 1):
        lines += [
            "    - name: xs%d" % h,
            "      host: 00000000-0000-4000-8000-%012d" % h,
            "      address: 198.18.%d.%d" % (h // 200, h % 200 + 1),
            "      fencing:",
            "        - {device: ilo, ip: 198.19.0.%d, username: fence," % h,
            "           password_file: /etc/xenha/ilo.secret}",
            "        - {device: apc, ip: 198.19.1.1, plug: %d," % h,
            "           password_file: /etc/xenha/pdu.secret}",
        ]
    lines += ["connectivity: {ping: [198.18.255.1]}", "vms:"]
    for v in range(1, vms + 1):
        entry = "  - {vm: 11111111-0000-4000-8000-%012d, name: vm%d, priority: %d" % (v, v, v % 3)
        if v % 10 == 0:
            entry += ", start_after: [vm%d]" % (v - 1)
        if v % 7 == 0:
            entry += ", preferred_host: xs%d" % (v % hosts + 1)
        lines.append(entry + "}")
    return "\n".join(lines) + "\n"


def timed(label, func, *args):
    start = time.monotonic()
    result = func(*args)
    seconds = time.monotonic() - start
    print("%-44s %7.2f s" % (label, seconds))
    return result, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--vms", type=int, default=1000)
    args = parser.parse_args(argv)
    print("pool: %d hosts, %d VMs" % (args.hosts, args.vms))
    with tempfile.TemporaryDirectory(prefix="xenha-bench-") as tmp:
        text = description(args.hosts, args.vms)
        m, t_load = timed("load + validate description", model.loads, text, "bench.yaml")
        xml, t_xml = timed("render CIB XML", render.render, m, "xml")
        _, t_crm = timed("render crm text", render.render, m, "crm")
        cib = os.path.join(tmp, "cib.xml")
        with open(cib, "w") as f:
            f.write(xml)
        _, t_verify = timed("crm_verify", simulate.verify, cib)
        print(
            "%-44s %7.2f s (target <= 5 s)"
            % ("=> generate + crm_verify", t_load + t_xml + t_verify)
        )
        print("   (crm text too: %.2f s)" % (t_load + t_xml + t_crm + t_verify))
        names = [n["name"] for n in m["cluster"]["nodes"]]
        scenario = simulate.Scenario(cib, names, simulate.node_attributes(m, names[0]), tmp)
        timed("crm_simulate: settle the running cluster", scenario.settle)
        transition, _ = timed(
            "crm_simulate: lose %s (pool master)" % names[0], scenario.run, "--node-fail", names[0]
        )
        problems, story = simulate.check_failover(transition, names[0], simulate.vm_ids(m))
        starts = sum(1 for line in story if line.startswith("start "))
        print("host loss: %d VMs restarted on survivors, %d problems" % (starts, len(problems)))
        for p in problems:
            print("  PROBLEM: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
