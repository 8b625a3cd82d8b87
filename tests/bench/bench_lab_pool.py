"""Cost of one simulated XAPI call on loopback, through the official SDK and through
xenha.xapi.Client (target: median <= 2 ms, so the simulator never dominates a failover
measurement).

    .venv/bin/python tests/bench/bench_lab_pool.py [--calls 2000] [--hosts 3] [--vms 20]
"""

import argparse
import statistics
import time

import XenAPI

from xenha.lab.pool.testing import running_pool
from xenha.xapi import Client, Settings


def measure(fn, calls):
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000.0)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)], samples[-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--hosts", type=int, default=3)
    p.add_argument("--vms", type=int, default=20)
    args = p.parse_args()
    with running_pool(hosts=args.hosts, vms=args.vms) as sim:
        sdk = XenAPI.Session(sim.master.url)
        sdk.xenapi.login_with_password(sim.user, sim.password(), "1.0", "bench")
        vm = sdk.xenapi.VM.get_by_uuid(sim.vms[0])
        settings = Settings(url=sim.slaves[0].url, password_file=sim.password_file)
        with Client(settings, originator="bench", cache_dir=None) as client:
            client.master()  # log in (following the master) before timing
            cases = [
                ("SDK VM.get_power_state", lambda: sdk.xenapi.VM.get_power_state(vm)),
                ("SDK VM.get_record", lambda: sdk.xenapi.VM.get_record(vm)),
                ("Client VM.get_power_state", lambda: client.xenapi.VM.get_power_state(vm)),
                ("SDK VM.get_all_records", lambda: sdk.xenapi.VM.get_all_records()),
            ]
            print(
                "simulated pool: %d hosts, %d VMs; %d calls each"
                % (args.hosts, args.vms, args.calls)
            )
            print("%-28s %9s %9s %9s" % ("call", "median ms", "p90 ms", "max ms"))
            for name, fn in cases:
                med, p90, worst = measure(fn, args.calls)
                print("%-28s %9.3f %9.3f %9.3f" % (name, med, p90, worst))
        sdk.xenapi.session.logout()


if __name__ == "__main__":
    main()
