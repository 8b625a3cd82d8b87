"""The TLS methods of fence_xenha_ilo/drac/irmc against the lab endpoints: method=ribcl
(python-hpilo) against the lab iLO speaking RIBCL over TLS, method=redfish against the lab
Redfish service (HTTPS). Both follow one TLS policy and fail the same way; each is
cross-checked with fence-agents' own agent for it (fence_ilo, fence_redfish)."""

import pytest

from tests.agents.fence import login, run_agent, run_watching_ps, upstream
from xenha.lab.power import testing

# method: (the lab endpoint, fence-agents' agent for it, the endpoint as messages name it)
ENDPOINTS = {
    "ribcl": (testing.ribcl_ilo, "fence_ilo", "iLO 127.0.0.1:%d"),
    "redfish": (testing.redfish_bmc, "fence_redfish", "Redfish https://127.0.0.1:%d"),
}
# The agent the tests of both methods run (only fence_xenha_ilo speaks RIBCL).
AGENT = {"ribcl": "fence_xenha_ilo", "redfish": "fence_xenha_irmc"}


@pytest.fixture(scope="module", params=sorted(ENDPOINTS))
def method(request):
    return request.param


@pytest.fixture(scope="module")
def bmc(method, rack):
    with ENDPOINTS[method][0](rack, "node1") as bmc:
        yield bmc


@pytest.fixture
def agent(fence_agents, method):
    return fence_agents[AGENT[method]]


def options(bmc, method, action, **extra):
    return login(bmc, action, **{"method": method, **extra})


@pytest.mark.parametrize("method", ["ribcl"], indirect=True)
def test_ribcl_is_the_default_and_works(agent, bmc):
    r = run_agent(agent, login(bmc, "status"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, login(bmc, "off")).returncode == 0
    assert bmc.power == "off"
    assert run_agent(agent, login(bmc, "status")).returncode == 2
    assert run_agent(agent, login(bmc, "reboot")).returncode == 0
    assert bmc.power == "on"


@pytest.mark.parametrize("method", ["redfish"], indirect=True)
@pytest.mark.parametrize("name", ["fence_xenha_ilo", "fence_xenha_drac", "fence_xenha_irmc"])
def test_redfish_status_off_on(fence_agents, bmc, name):
    agent = fence_agents[name]
    r = run_agent(agent, options(bmc, "redfish", "status"))
    assert (r.returncode, r.stdout.strip()) == (0, "Status: ON"), r.stderr
    assert run_agent(agent, options(bmc, "redfish", "off")).returncode == 0
    assert bmc.power == "off"
    assert run_agent(agent, options(bmc, "redfish", "status")).returncode == 2
    on = options(bmc, "redfish", "on", systems_uri="/redfish/v1/Systems/1")
    assert run_agent(agent, on).returncode == 0
    assert bmc.power == "on"


def test_fence_agents_own_agent_sees_what_ours_did(agent, bmc, method):
    theirs = ENDPOINTS[method][1]
    assert run_agent(agent, options(bmc, method, "off")).returncode == 0
    r = upstream(theirs, bmc, "status", ssl_insecure=1)
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF"), r.stderr
    assert upstream(theirs, bmc, "on", ssl_insecure=1).returncode == 0
    assert run_agent(agent, options(bmc, method, "status")).stdout.strip() == "Status: ON"
    assert upstream(theirs, bmc, "off", ssl_insecure=1).returncode == 0
    assert run_agent(agent, options(bmc, method, "status")).returncode == 2


def test_certificate_is_verified(agent, bmc, method):
    opts = options(bmc, method, "off", ssl_ca_file=None)
    r = run_agent(agent, opts)
    assert r.returncode == 1 and "certificate not trusted" in r.stderr
    assert bmc.power == "on"
    assert run_agent(agent, dict(opts, ssl_insecure=1)).returncode == 0


def test_failures_never_succeed(agent, bmc, method, tmp_path):
    wrong = testing.secret_file(str(tmp_path), "wrong")
    r = run_agent(agent, options(bmc, method, "off", password_file=wrong))
    assert r.returncode == 1 and "refused the login for user %r" % bmc.user in r.stderr
    port = testing.free_port(testing.socket.SOCK_STREAM)
    r = run_agent(agent, options(bmc, method, "off", ipport=port, login_timeout=1))
    assert r.returncode == 1 and r.stdout == "" and "Connection refused" in r.stderr
    bmc.rack.configure("machines", "node1", stuck=True)
    r = run_agent(agent, options(bmc, method, "off", power_timeout=1))
    assert r.returncode == 1 and "not read back OFF" in r.stderr
    assert bmc.power == "on"


@pytest.mark.parametrize("method", ["redfish"], indirect=True)
def test_redfish_failures_name_the_http_status(agent, bmc, tmp_path):
    wrong = testing.secret_file(str(tmp_path), "wrong")
    r = run_agent(agent, options(bmc, "redfish", "off", password_file=wrong))
    assert r.returncode == 1 and "refused the login for user 'admin' (HTTP 401)" in r.stderr
    r = run_agent(agent, options(bmc, "redfish", "off", systems_uri="/redfish/v1/Systems/9"))
    assert r.returncode == 1 and "answered HTTP 404" in r.stderr


def test_password_never_in_ps(agent, bmc, method):
    bmc.rack.configure("machines", "node1", delay=0.5)
    opts = options(bmc, method, "off", password=bmc.password, password_file=None, verbose=1)
    r = run_watching_ps(agent, opts, bmc.password)
    assert r.returncode == 0, r.stderr


def test_one_tls_policy_bad_ca_file_and_logged_insecure(agent, bmc, method, tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    for ca_file in (tmp_path / "missing.pem", garbage):
        r = run_agent(agent, options(bmc, method, "status", ssl_ca_file=str(ca_file)))
        assert r.returncode == 1 and "cannot load CA file %s" % ca_file in r.stderr, r.stderr
    r = run_agent(agent, options(bmc, method, "status", ssl_insecure=1, ssl_ca_file=None))
    assert r.returncode == 0, r.stderr
    where = ENDPOINTS[method][2] % bmc.port
    assert "TLS certificate verification of %s is disabled" % where in r.stderr, r.stderr
