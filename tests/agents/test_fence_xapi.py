"""fence_xenha_xapi (POOL) and fence_xenha_xvm against the XAPI pool simulator; every test
ends with the hypervisor truth's invariant: no VM ever ran twice."""

import time
import urllib.parse

from tests.agents.fence import run_agent, run_watching_ps
from xenha.lab.pool.testing import running_pool

TIMING = {"heartbeat_interval": 0.2, "assumed_dead_interval": 1.0}
POOL = {"hosts": 3, "vms": 4, "timing": TIMING}  # the sim fixture's pool


def options(sim, action, plug="", **extra):
    url = urllib.parse.urlsplit(sim.master.url)
    opts = {
        "action": action,
        "ip": url.hostname,
        "ipport": url.port,
        "ssl": 0,
        "username": sim.user,
        "password_file": sim.password_file,
        "plug": plug,
    }
    opts.update(extra)
    return opts


def running_on(sim, host):
    return sim.truth()["domains"].get(host.name, [])


def test_pool_fencing_declares_a_lost_host_dead(fence_agents, sim):
    agent = fence_agents["fence_xenha_xapi"]
    victim = sim.slaves[0]
    r = run_agent(agent, options(sim, "status", victim.uuid))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    r = run_agent(agent, options(sim, "off", victim.uuid))
    assert r.returncode == 1 and "still sees host %s live" % victim.uuid in r.stderr
    assert sim.record("host", victim.uuid)["enabled"] is True
    sim.power_off(victim.name)  # the power level of the topology did its job
    r = run_agent(agent, options(sim, "off", victim.name))
    assert r.returncode == 0, r.stderr
    record = sim.record("host", victim.uuid)
    assert record["enabled"] is False
    # A later status reads OFF once the master's own liveness check lost the host too.
    deadline = time.monotonic() + 10
    while run_agent(agent, options(sim, "status", victim.uuid)).returncode != 2:
        assert time.monotonic() < deadline, "the pool never counted the host as not live"
        time.sleep(0.2)


def test_pool_list_monitor_and_errors(fence_agents, sim):
    agent = fence_agents["fence_xenha_xapi"]
    r = run_agent(agent, options(sim, "list"))
    assert sorted(r.stdout.split()) == sorted("%s,%s" % (h.uuid, h.name) for h in sim.hosts)
    assert run_agent(agent, options(sim, "monitor")).returncode == 0
    r = run_agent(agent, options(sim, "off", "no-such-host"))
    assert r.returncode == 1 and "no-such-host" in r.stderr
    r = run_agent(agent, options(sim, "status", sim.hosts[0].uuid, ipport=1, login_timeout=1))
    assert r.returncode == 1 and r.stdout == ""
    r = run_agent(agent, options(sim, "on", sim.hosts[0].uuid))
    assert r.returncode == 1 and "action 'on' is not supported" in r.stderr


def test_xvm_powers_the_host_vm_off_and_on(fence_agents, sim):
    agent = fence_agents["fence_xenha_xvm"]
    vm = sim.vms[0]
    r = run_agent(agent, options(sim, "status", vm))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, options(sim, "off", sim.vm_names[vm])).returncode == 0
    assert not any(vm in doms for doms in sim.truth()["domains"].values())
    assert run_agent(agent, options(sim, "status", vm)).returncode == 2
    assert run_agent(agent, options(sim, "reboot", vm)).returncode == 0
    assert any(vm in doms for doms in sim.truth()["domains"].values())
    r = run_agent(agent, options(sim, "list"))
    assert sorted(r.stdout.split()) == sorted("%s,%s" % (u, sim.vm_names[u]) for u in sim.vms)


def test_xvm_hard_shutdown_failure_is_reported(fence_agents, sim):
    sim.inject("VM.hard_shutdown", "", 0.0, False, ["INTERNAL_ERROR", "lab"], -1)
    r = run_agent(fence_agents["fence_xenha_xvm"], options(sim, "off", sim.vms[1]))
    assert r.returncode == 1 and "INTERNAL_ERROR" in r.stderr
    assert any(sim.vms[1] in doms for doms in sim.truth()["domains"].values())


def test_xapi_password_never_in_ps(fence_agents, sim):
    r = run_watching_ps(
        fence_agents["fence_xenha_xvm"], options(sim, "reboot", sim.vms[2]), sim.password()
    )
    assert r.returncode == 0, r.stderr


def test_a_warning_of_the_tls_library_lands_on_stderr_with_the_agents_name(fence_agents):
    """xenha.tls warns that verification is off through the fence agent's log: on stderr
    (and syslog) under the agent's name, even without verbose."""
    with running_pool(hosts=2, vms=1, https=True) as sim:
        url = urllib.parse.urlsplit(sim.master.https_url)
        opts = options(sim, "status", sim.slaves[0].uuid, ssl=1, ssl_insecure=1)
        opts.update(ip=url.hostname, ipport=url.port)
        r = run_agent(fence_agents["fence_xenha_xapi"], opts)
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert "fence_xenha_xapi: warning: TLS certificate verification of XAPI is disabled" in r.stderr
