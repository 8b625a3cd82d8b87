"""The lab's list_domains: one host's domains from the simulator's hypervisor truth, in the
real tool's format, read by xenha.hypervisor as on a dom0; "cannot tell" (a failure)
when the host has no power or the simulator does not answer, never "no domains"."""

import os
import subprocess

import pytest

from xenha import hypervisor
from xenha.lab.pool import list_domains
from xenha.lab.pool.testing import running_pool


@pytest.fixture(scope="module")
def sim():
    with running_pool(hosts=2, vms=2) as s:  # vm1 on host1, vm2 on host2
        yield s


def run(wrapper):
    return subprocess.run(
        [wrapper], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True
    )


@pytest.mark.parametrize("via", ["control", "control_socket"])
def test_it_lists_the_hosts_dom0_and_the_domains_the_truth_runs_there(sim, tmp_path, via):
    address = sim.info[via]
    assert address.startswith("unix:" if via == "control_socket" else "http:")
    r = run(list_domains.write_wrapper(str(tmp_path), "host2", address))
    assert r.returncode == 0, r.stderr
    rows = hypervisor.parse(r.stdout)
    dom0 = sim.record("VM", rows[0].uuid, "host2")
    assert rows[0].domid == 0 and dom0["is_control_domain"]
    assert [d.uuid for d in rows[1:]] == [sim.vms[1]]
    assert hypervisor.judge(rows, sim.vms[1]).state == hypervisor.PRESENT
    assert hypervisor.judge(rows, sim.vms[0]).state == hypervisor.ABSENT  # it runs on host1


def test_a_paused_domain_shows_p(sim, tmp_path):
    sim.pause_domain(sim.vms[1], True)
    try:
        out = run(list_domains.write_wrapper(str(tmp_path), "host2", sim.control_url)).stdout
        a = hypervisor.judge(hypervisor.parse(out), sim.vms[1])
        assert a.state == hypervisor.PRESENT and a.paused
    finally:
        sim.pause_domain(sim.vms[1], False)


def test_no_simulator_fails_with_nothing_on_stdout(tmp_path):
    r = run(list_domains.write_wrapper(str(tmp_path), "host2", "http://127.0.0.1:9/"))
    assert (r.returncode, r.stdout) == (2, "")
    assert "does not answer" in r.stderr
    missing = "unix:" + os.path.join(str(tmp_path), "gone.sock")
    r = run(list_domains.write_wrapper(str(tmp_path), "host2", missing))
    assert (r.returncode, r.stdout) == (2, "")


def test_a_powered_off_host_fails_never_lists_nothing():
    with running_pool(hosts=2, vms=2) as s:
        wrapper = list_domains.write_wrapper(s.info["state_dir"] + "/bin", "host2", s.control_url)
        s.power_off("host2")
        r = run(wrapper)
        assert (r.returncode, r.stdout) == (2, "")
        assert "host host2 is powered off" in r.stderr
        s.power_on("host2")  # booted: its hypervisor answers again, with no domains
        rows = hypervisor.parse(run(wrapper).stdout)
        assert [d.domid for d in rows] == [0]
