"""xenha on other cluster stacks than this machine's: Debian 11's Pacemaker 2.0.5 with
Python 3.9, and Debian 13's Pacemaker 3.0.0 with Python 3.13 (xenha.lab.stacks builds
and caches their roots; a fresh machine builds each in about a minute).

There, with that stack's own tools and Python: the configuration generated for its
target passes its crm_verify and ``xenha config verify``'s crm_simulate scenarios (and
2.0.5 refuses the 2.1 one), both agents pass its ocf-tester against the XAPI
simulator, and its crm_attribute is the one the promotion-score fallback is for.
"""

import os
import shutil
import tempfile

import pytest

from tests.agents.test_ocf_tester import node, ocf_tester  # noqa: F401 - node: a fixture
from tests.conftest import REPO
from xenha import model
from xenha.crm import render
from xenha.lab import stacks

pytestmark = pytest.mark.xdist_group("stacks")  # one worker builds and uses the roots
POOL = {"hosts": 3, "vms": 3, "knobs": {"xapi_fuse": 1, "xapi_restart": 2}}
GOLDEN = os.path.join(REPO, "tests", "golden")
CASES = ("two-node-qdevice", "three-node-pdu", "targets/two-node")


@pytest.fixture(scope="module", params=sorted(stacks.STACKS))
def stack(request):
    """A built stack (built now if the cache lacks it) and a scratch directory both the
    root and this machine see at one path."""
    stacks.build(request.param, progress=lambda line: None)
    scratch = tempfile.mkdtemp(prefix="xenha-stack-")
    os.chmod(scratch, 0o755)
    yield stacks.STACKS[request.param], scratch
    shutil.rmtree(scratch, ignore_errors=True)


def inside(stack, argv, **kw):
    (s, scratch) = stack
    kw.setdefault("binds", [scratch])
    return stacks.run(s.name, argv, **kw)


def test_the_stack_is_the_one_named(stack):
    s, _ = stack
    r = inside(stack, ["pacemakerd", "--version"])
    assert r.returncode == 0 and ("Pacemaker " + s.pacemaker) in r.stdout, r.stdout
    r = inside(stack, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    assert r.stdout.strip() == s.python


@pytest.mark.parametrize("case", CASES)
def test_its_crm_verify_accepts_the_configuration_for_its_target(stack, case):
    s, scratch = stack
    desc = model.load(os.path.join(GOLDEN, case + ".yaml"))
    desc["cluster"]["pacemaker"] = s.target
    cib = os.path.join(scratch, os.path.basename(case) + ".xml")
    with open(cib, "w") as f:
        f.write(render.render(desc, "xml", case + ".yaml"))
    r = inside(stack, ["crm_verify", "-V", "--xml-file", cib])
    assert r.returncode == 0, r.stdout + r.stderr
    if s.target == "2.0":  # and the 2.1 one, with Promoted roles, is refused there
        desc["cluster"]["pacemaker"] = "2.1"
        with open(cib, "w") as f:
            f.write(render.render(desc, "xml", case + ".yaml"))
        r = inside(stack, ["crm_verify", "--xml-file", cib])
        assert r.returncode != 0


@pytest.mark.parametrize("case", CASES)
def test_config_verify_passes_under_its_python_and_its_scheduler(stack, case):
    """The node-side command, run by the stack's Python, targets its Pacemaker by itself
    (pacemakerd --version) and proves fence -> promote -> VM starts with its crm_simulate."""
    s, scratch = stack
    shutil.copy(os.path.join(GOLDEN, case + ".yaml"), scratch)
    argv = ["python3", "-m", "xenha.cli.main", "config", "verify", "--no-resolve"]
    desc = os.path.join(scratch, os.path.basename(case) + ".yaml")
    r = inside(stack, argv + [desc], source=REPO, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verified: fence before promotion before VM starts" in r.stdout
    assert "promote pool-master on" in r.stdout


def in_root(stack):
    """ocf_tester's runner: the stack's ocf-tester and Python, sharing /tmp (the
    simulator's files, the launchers) and this checkout (xenha, the XenAPI SDK)."""
    s, _ = stack

    def run(argv, env):
        r = stacks.run(s.name, argv, binds=[tempfile.gettempdir(), REPO], env=env, timeout=300)
        r.stdout += r.stderr
        return r

    return run


def test_ocf_tester_passes_for_xen_vm_on_the_stack(stack, node, sim):  # noqa: F811
    ocf_dir, pythonpath = node
    vm = sim.vms[1]
    r = ocf_tester(sim, ocf_dir, pythonpath, "xen-vm", "host2", run=in_root(stack), vm=vm)
    assert r.returncode == 0 and "passed all tests" in r.stdout, r.stdout


@pytest.mark.parametrize("host", ["host2", "host1"])
def test_ocf_tester_passes_for_xapi_pool_master_on_the_stack(stack, node, sim, host):  # noqa: F811
    ocf_dir, pythonpath = node
    r = ocf_tester(sim, ocf_dir, pythonpath, "xapi-pool-master", host, run=in_root(stack))
    assert r.returncode == 0 and "passed all tests" in r.stdout, r.stdout


def test_its_crm_attribute_has_the_promotion_option_from_pacemaker_2_1_only(stack):
    """Why xenha.pacemaker.set_promotion_score falls back to the master-<instance> node
    attribute: 2.0.5's crm_attribute refuses --promotion (CRM_EX_USAGE); 3.0 has it."""
    s, _ = stack
    r = inside(stack, ["crm_attribute", "--promotion=pool-master", "--update=10"])
    if s.target == "2.0":
        assert r.returncode == 64
    else:
        assert r.returncode not in (0, 64)  # accepted, then no cluster to reach
