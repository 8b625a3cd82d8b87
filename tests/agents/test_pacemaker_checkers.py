"""The generated configuration and the installed agents under crmsh's and Pacemaker's own
checkers: ``crm configure verify`` on each golden description's CIB reports nothing,
``crm_resource --validate`` and ``stonith_admin --validate`` accept each generated
resource's parameters and reject a bad one with the agent's own message.

None needs a cluster: crmsh reads the CIB from ``CIB_file``, and both tools run the
agent's validate-all themselves (under strace, Pacemaker 2.1.5's crm_resource
``--class/--agent`` and stonith_admin ``--validate`` connect to no daemon). But
all three look for agents only where Pacemaker 2.1 was built to (/usr/lib/ocf/resource.d,
/usr/sbin; no environment variable moves them), and validate-all reads what a node has
(the XAPI socket, the secrets the parameters name). So each runs in a mount namespace
of its own where the session's ``xenha install --root`` tree (the ``installed``
fixture) and the node's files are laid over those directories: this machine's own
files are never touched.
"""

import os
import re
import shutil

import pytest

from tests.agents.fence import run_agent
from tests.agents.overlay import on_node
from tests.unit.test_crm_golden import CASES, GOLDEN, rendered
from xenha import hypervisor, install, model
from xenha.crm import agents, plan
from xenha.lab.pool import list_domains
from xenha.lab.pool.testing import running_pool

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("crm"),
    reason="needs root (a mount namespace), unshare and crmsh (crm)",
)


def described(case):
    return model.load(os.path.join(GOLDEN, case + ".yaml"))


# -- crm configure verify ----------------------------------------------------------------


def crmsh_false_positives(cfg):
    """crmsh 4.4 checks a location's resource by its ``rsc`` attribute
    (cibconfig.py, CibLocation.referenced_resources returns ``[node.get("rsc")]``), which
    a location by ``rsc-pattern`` has not: it warns that resource None does not exist.
    Pacemaker applies the pattern (crm_verify is silent; tests/unit/test_crm_simulate.py
    shows the rule moving VMs), and the pattern is meant: it also covers VMs added later."""
    return {
        "WARNING: %s: resource None does not exist" % loc.id for loc in cfg.locations if loc.pattern
    }


@pytest.mark.parametrize("case", CASES)
def test_crm_configure_verify_reports_nothing_on_the_generated_cib(case, installed, tmp_path):
    """On the CIB as a cluster of the description's nodes, with quorum, holds it."""
    m = described(case)
    nodes = "".join(
        '<node id="%d" uname="%s"/>' % (i, n["name"])
        for i, n in enumerate(m["cluster"]["nodes"], 1)
    )
    cib = rendered(case, "xml").replace("<nodes/>", "<nodes>%s</nodes>" % nodes)
    cib = cib.replace("<cib ", '<cib have-quorum="1" ', 1)
    path = tmp_path / "cib.xml"
    path.write_text(cib)
    r = on_node(["crm", "configure", "verify"], [installed], dict(os.environ, CIB_file=str(path)))
    said = set(r.stdout.strip().splitlines()) - crmsh_false_positives(plan.build(m))
    assert r.returncode == 0 and not said, r.stdout


# -- crm_resource --validate, stonith_admin --validate -----------------------------------


def node_tree(root, m, sim, cfg):
    """The files a pool host of the description has: the XAPI password file the pool
    agents read by default, its host's xapi socket, and every secret a fence device
    names (a root-only file, or a script printing it)."""

    def put(relpath, text, mode):
        path = os.path.join(root, relpath.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    for prim in cfg.primitives:
        params = dict(prim.params)
        if "password_file" in params:
            put(params["password_file"], "secret\n", 0o600)
        if "password_script" in params:
            put(params["password_script"], "#!/bin/sh\necho secret\n", 0o700)
    put(agents.XAPI_DEFAULTS["xapi_password_file"], sim.password() + "\n", 0o600)
    os.makedirs(os.path.join(root, "var/lib/xcp"))
    os.symlink(sim.host(m["cluster"]["nodes"][0]["host"]).socket, root + "/var/lib/xcp/xapi")


def pool_host(node):
    """The simulated pool's host of a description's node: named by its ``host``, or by
    the node's name when ``host`` is the host's UUID."""
    if hypervisor.is_uuid(node["host"]):
        return {"name": node["name"], "uuid": node["host"]}
    return {"name": node["host"]}


@pytest.fixture(params=CASES)
def node(request, installed, tmp_path):
    """``(config, run)`` for a golden description: ``run(argv)`` on its first node, a
    pool host of a simulated pool of its hosts and VMs."""
    m = described(request.param)
    cfg = plan.build(m)
    hosts = [pool_host(n) for n in m["cluster"]["nodes"]]
    first = hosts[0]["name"]
    vms = [{"name": vm["id"], "uuid": vm["vm"], "host": first} for vm in plan.protected_vms(m)]
    state = {"hosts": hosts, "vms": vms, "srs": [{"name": "sr"}]}
    with running_pool(state=state, sockets=True) as sim:
        root = str(tmp_path / "node")
        node_tree(root, m, sim, cfg)
        bin_dir = str(tmp_path / "bin")  # the node's hypervisor, and its name
        list_domains.write_wrapper(bin_dir, first, sim.control_url)
        with open(os.path.join(bin_dir, "crm_node"), "w") as f:
            f.write("#!/bin/sh\necho %s\n" % m["cluster"]["nodes"][0]["name"])
        os.chmod(os.path.join(bin_dir, "crm_node"), 0o755)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
        yield cfg, lambda argv: on_node(argv, [installed, root], env)


def validate(prim, params):
    """The tool's command line that validates ``prim`` with ``params`` [(name, value)]."""
    options = [a for kv in params for a in ("--option", "%s=%s" % kv)]
    if prim.cls == "stonith":
        return ["stonith_admin", "--validate", "--agent", prim.type] + options
    cmd = ["crm_resource", "--validate", "--class", prim.cls, "--provider", prim.provider]
    return cmd + ["--agent", prim.type] + options


def ours(cfg):
    return [p for p in cfg.primitives if p.cls == "stonith" or p.provider == "xenha"]


# Where the pool agents reach XAPI: a description's URL, CA and fingerprint name a pool
# that is not here, so the node's own local socket (the simulator's) stands in.
ENDPOINT = ("xapi_url", "xapi_ca_file", "xapi_fingerprint")


def test_validate_accepts_every_generated_resource(node):
    cfg, run = node
    for prim in ours(cfg):
        r = run(validate(prim, [(k, v) for k, v in prim.params if k not in ENDPOINT]))
        assert r.returncode == 0, (prim.id, r.stdout)


# A value each xenha agent refuses: every pool agent has xapi_insecure (a boolean), every
# fence agent fence-agents' power_timeout (seconds above 0).
BAD = {"ocf": ("xapi_insecure", "perhaps"), "stonith": ("power_timeout", "-5")}


def test_validate_rejects_a_bad_value_with_the_agents_own_message(node, installed):
    cfg, run = node
    for prim in ours(cfg):
        name, value = BAD[prim.cls]
        params = [(k, v) for k, v in prim.params if k != name] + [(name, value)]
        own = agent_says(installed, prim, params)
        assert own, prim.id
        r = run(validate(prim, params))
        assert r.returncode != 0, (prim.id, r.stdout)
        assert own in unnumbered(r.stdout), (prim.id, own, r.stdout)


def agent_says(installed, prim, params):
    """What the installed agent itself says, run by hand as its caller runs it (an OCF
    agent: OCF_RESKEY_* and its exit reason; a fence agent: options on stdin)."""
    if prim.cls == "stonith":
        agent = os.path.join(installed, install.FENCE_DIR, prim.type)
        r = run_agent(agent, dict(params, action="validate-all"))
    else:
        agent = os.path.join(installed, install.OCF_DIR, prim.type)
        reskeys = ["OCF_RESKEY_%s=%s" % kv for kv in params]
        r = run_agent("env", argv=reskeys + [agent, "validate-all"])
    assert r.returncode != 0, (prim.id, r.stderr)
    mark = "ocf-exit-reason:" if prim.cls == "ocf" else prim.type + ": error: "
    said = [line.split(mark, 1)[1] for line in r.stderr.splitlines() if mark in line]
    return unnumbered(said[0]) if said else ""


def unnumbered(text):
    """Without the fence agent's ``stdin line N:`` (the fencer orders options its way)."""
    return re.sub(r"stdin line \d+: ", "", text)
