"""The generator's agent and parameter names against the agents' own metadata (the source of truth).

Every agent the generator emits for the golden descriptions must be in this
checkout: the generator does not emit what does not exist.
"""

import importlib
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.unit.test_crm_golden import CASES, GOLDEN
from xenha import model
from xenha.crm import agents, plan
from xenha.model import spec


def agent_module(prim):
    if prim.cls == "stonith":
        return "stonith_plugins." + prim.type, ["-o", "metadata"]
    if prim.provider == "xenha":
        return "ocf_agents." + prim.type.replace("-", "_"), ["meta-data"]
    return None, None


def metadata(module, argv):
    code = "import sys; sys.argv = ['agent'] + sys.argv[1:]; from %s import main; main()" % module
    out = subprocess.run(
        [sys.executable, "-c", code] + argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return ET.fromstring(out.stdout)


def metadata_params(module, argv):
    return {p.get("name") for p in metadata(module, argv).iter("parameter")}


def primitives():
    seen = {}
    for case in CASES:
        for prim in plan.build(model.load(os.path.join(GOLDEN, case + ".yaml"))).primitives:
            module, argv = agent_module(prim)
            if module:
                seen.setdefault((module, tuple(argv)), set()).update(k for k, _ in prim.params)
    return sorted(seen.items())


@pytest.mark.parametrize(
    "agent, params", primitives(), ids=lambda v: str(v[0]) if isinstance(v, tuple) else ""
)
def test_generated_parameters_exist_in_the_agent_metadata(agent, params):
    module, argv = agent
    assert importlib.util.find_spec(module), "the generator emits %s, which is not here" % module
    names = metadata_params(module, list(argv))
    pacemaker_own = {p for p in params if p.startswith("pcmk_")}
    assert params - pacemaker_own <= names


@pytest.mark.parametrize("agent", [agents.VM_AGENT, agents.MASTER_AGENT])
def test_generated_operations_are_the_ones_the_agent_advertises(agent):
    """Timeout, interval, depth and role of every operation written for a xenha agent are
    an ``<action>`` of its metadata (both read xenha.pool_agent), and every action
    Pacemaker schedules is written (none left to op_defaults)."""
    module, argv = None, None
    written = set()
    for case in CASES:
        for prim in plan.build(model.load(os.path.join(GOLDEN, case + ".yaml"))).primitives:
            if prim.agent == agent:
                module, argv = agent_module(prim)
                written |= {
                    (o.name, o.timeout, o.interval, str(o.depth or 0), o.role) for o in prim.ops
                }
    advertised = {
        (
            a.get("name"),
            a.get("timeout"),
            a.get("interval", "0s"),
            a.get("depth", "0"),
            a.get("role"),
        )
        for a in metadata(module, argv).iter("action")
    }
    assert written <= advertised
    unscheduled = {"meta-data", "validate-all"}
    assert {a[0] for a in written} == {a[0] for a in advertised} - unscheduled


PING = "/usr/lib/ocf/resource.d/pacemaker/ping"


@pytest.mark.skipif(not os.path.exists(PING), reason="Pacemaker's ping agent is not installed")
def test_ping_parameters_exist_in_pacemakers_ping_agent():
    out = subprocess.run(
        [PING, "meta-data"],
        env=dict(os.environ, OCF_ROOT="/usr/lib/ocf"),
        stdout=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    ).stdout
    names = {p.get("name") for p in ET.fromstring(out).iter("parameter")}
    m = model.load(os.path.join(GOLDEN, "two-node-qdevice.yaml"))
    (ping,) = [p for p in plan.build(m).primitives if p.id == plan.PING]
    assert {k for k, _ in ping.params} <= names


def written_in(text, suffixes):
    """The files of the library, templates and agents that contain ``text``."""
    from tests.conftest import REPO

    found = []
    for top in ("xenha", "crm_templates", "ocf_agents", "stonith_plugins", "alert_agents"):
        for root, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith(suffixes):
                    path = os.path.join(root, name)
                    with open(path, errors="replace") as f:
                        if text in f.read():
                            found.append(os.path.relpath(path, REPO))
    return found


def test_the_alert_agent_path_is_written_in_agents_py_only():
    """`xenha install` puts the alert agent at agents.ALERT_AGENT; no second copy may drift."""
    found = written_in(agents.ALERT_AGENT, (".py", ".j2", ".yaml", ".sh"))
    assert found == [os.path.join("xenha", "crm", "agents.py")]
    m = model.load(os.path.join(GOLDEN, "two-node-qdevice.yaml"))
    assert [a.path for a in plan.build(m).alerts] == [agents.ALERT_AGENT]


def test_the_pool_agents_defaults_are_declared_by_the_agents_only():
    """The generator leaves out what the pool agents assume; it reads that from their
    parameter declarations, so the XAPI password file is written in one module."""
    from xenha import pool_agent

    declared = {p.name: p.default for p in pool_agent.CONNECTION_PARAMETERS}
    assert set(agents.XAPI_PARAMS.values()) | {agents.HOST_MAP} <= set(declared)
    path = declared["xapi_password_file"]
    assert written_in(path, (".py", ".j2", ".sh")) == [os.path.join("xenha", "pool_agent.py")]


def test_the_pool_masters_graces_are_the_agents_own_declarations():
    """pool.master's keys are the graces xapi-pool-master declares (in xenha.pool_agent,
    so that the generator reads their defaults there and nowhere else)."""
    from ocf_agents import xapi_pool_master
    from xenha import pool_agent

    assert set(agents.MASTER_PARAMS) == set(spec.SPEC["pool"].spec["master"].spec)
    graces = [p for p in xapi_pool_master.AGENT.parameters if p.name.endswith("_grace")]
    assert graces == pool_agent.MASTER_GRACES
    assert {p.name: p.default for p in graces} == agents.MASTER_DEFAULTS
    assert sorted(agents.MASTER_PARAMS.values()) == sorted(agents.MASTER_DEFAULTS)


@pytest.mark.parametrize("case", CASES)
def test_generated_fence_devices_give_their_agent_every_option_it_requires(case):
    """What the fencer passes (the device's params on stdin) must satisfy the agent's own
    parsing and required options: a missing ``ip`` would make every fence fail."""
    from xenha.fencing import options

    fences = [
        p
        for p in plan.build(model.load(os.path.join(GOLDEN, case + ".yaml"))).primitives
        if p.cls == "stonith"
    ]
    assert fences
    for prim in fences:
        agent = importlib.import_module("stonith_plugins." + prim.type).AGENT
        stdin = "".join("%s=%s\n" % kv for kv in prim.params) + "action=off\n"
        opts = options.parse_stdin(agent.options, stdin)
        assert [k for k in opts.unknown if not k.startswith("pcmk_")] == [], prim.id
        options.check_required(opts, agent.options)


@pytest.mark.parametrize("device", spec.FENCE_DEVICE_TYPES)
def test_fence_timing_defaults_are_the_ones_the_agent_metadata_declares(device):
    module = "stonith_plugins.fence_xenha_" + device
    out = subprocess.run(
        [sys.executable, "-c", "from %s import main; main()" % module, "-o", "metadata"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    ).stdout
    root = ET.fromstring(out)
    declared = {p.get("name"): p.find("content").get("default") for p in root.iter("parameter")}
    timing = agents.fence_timing(device)
    assert timing.power_timeout == float(declared["power_timeout"])
    assert timing.power_wait == float(declared["power_wait"])
    assert timing.powers_on == ("on" in {a.get("name") for a in root.iter("action")})


def fence_params(yaml_text):
    m = model.loads(yaml_text)
    return {p.id: dict(p.params) for p in plan.build(m).primitives if p.cls == "stonith"}


TWO_NODES = """\
cluster:
  name: c
  nodes:
    - name: n1
      address: 10.0.0.1
      fencing:
        - {device: ilo, ip: 10.0.1.1, username: u, password_file: /etc/xenha/s%s}
        - {device: meatware%s}
    - name: n2
      address: 10.0.0.2
      fencing: [{device: ilo, ip: 10.0.1.2, username: u, password_file: /etc/xenha/s}]
"""


def test_devices_slower_than_stonith_timeout_get_their_own_pacemaker_timeouts():
    """Meatware waits 240 s for a person by default; stonith-timeout is 90 s."""
    params = fence_params(TWO_NODES % ("", ""))
    meatware = params["fence-n1-meatware"]
    wait = agents.fence_timing("meatware").power_timeout + agents.FENCE_MARGIN
    assert meatware["pcmk_off_timeout"] == meatware["pcmk_reboot_timeout"] == "%ds" % wait
    assert wait > 240
    # A BMC with the default 20 s polls (off, then on for a reboot) fits in 90 s.
    assert not [k for k in params["fence-n1-ilo"] if k.endswith("_timeout") and "pcmk" in k]


def test_an_explicit_power_timeout_counts_twice_for_a_reboot_that_powers_on_again():
    params = fence_params(TWO_NODES % (", power_timeout: 60", ", power_timeout: 30"))
    ilo = params["fence-n1-ilo"]
    assert "pcmk_off_timeout" not in ilo  # 60 + margin fits in 90 s
    assert ilo["pcmk_reboot_timeout"] == "%ds" % (2 * (60 + agents.FENCE_MARGIN))
    assert "pcmk_reboot_timeout" not in params["fence-n1-meatware"]  # 30 s + margin fits


def test_a_stonith_timeout_long_enough_needs_no_device_timeouts():
    params = fence_params(TWO_NODES % ("", "") + "fencing: {timeout: 5min}\n")
    assert not [k for p in params.values() for k in p if k.startswith("pcmk_") and "timeout" in k]
