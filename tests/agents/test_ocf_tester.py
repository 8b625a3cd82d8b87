"""resource-agents' ocf-tester passes for both agents, against the XAPI simulator.

ocf-tester also runs meta-data as user nobody, so the agents are installed here the
way a pool host runs them: launchers for the system Python (/usr/bin/python3), with
xenha and the official XenAPI SDK on its path (this virtualenv's copy of the SDK,
linked into a directory nobody can read).
"""

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.agents.ocf_harness import Pacemaker
from tests.conftest import REPO
from xenha import install

# ocf-tester's runs share one state directory (HA_RSCTMP): never two at once.
pytestmark = pytest.mark.xdist_group("ocf-tester")

SYSTEM_PYTHON = "/usr/bin/python3"
POOL = {"hosts": 3, "vms": 3, "knobs": {"xapi_fuse": 1, "xapi_restart": 2}}


@pytest.fixture(scope="module")
def node():
    """(ocf dir, PYTHONPATH) of agents installed for the system Python."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("%s is missing: ocf-tester needs agents nobody can run" % SYSTEM_PYTHON)
    import XenAPI

    root = tempfile.mkdtemp(prefix="xenha-node-")
    os.chmod(root, 0o755)
    sdk = os.path.join(root, "sdk")
    os.mkdir(sdk)
    os.symlink(os.path.dirname(XenAPI.__file__), os.path.join(sdk, "XenAPI"))
    install.install(root, python=SYSTEM_PYTHON)
    yield os.path.join(root, install.OCF_DIR), "%s:%s" % (REPO, sdk)
    shutil.rmtree(root, ignore_errors=True)


def run_here(argv, env):
    return subprocess.run(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=300,
    )


def ocf_tester(
    sim, ocf_dir, pythonpath, agent, node_name, check_level=None, run=run_here, **params
):
    """ocf-tester's run of ``agent`` on ``node_name``; ``check_level``: its monitors' depth
    (ocf-tester has no option for it; the agent reads OCF_CHECK_LEVEL from its
    environment, which ocf-tester passes on); ``run(argv, env)``: where it runs (default
    here; the stacks' roots: tests/agents/test_stacks.py)."""
    pcmk = Pacemaker(sim, ocf_dir, python=SYSTEM_PYTHON)
    try:
        env = pcmk.env(node_name, "unused")
        args = ["ocf-tester", "-n", "%s-test" % agent]
        params = dict(
            params,
            xapi_url=env["OCF_RESKEY_xapi_url"],
            xapi_password_file=sim.password_file,
            pool_conf=env["OCF_RESKEY_pool_conf"],
            CRM_meta_on_node=node_name,
        )
        for key, value in sorted(params.items()):
            args += ["-o", "%s=%s" % (key, value)]
        clean = {k: v for k, v in env.items() if k.startswith(("PATH", "HA_", "OCF_ROOT"))}
        clean["PYTHONPATH"] = pythonpath
        if check_level is not None:
            clean["OCF_CHECK_LEVEL"] = str(check_level)
        return run(args + [os.path.join(ocf_dir, agent)], clean)
    finally:
        pcmk.close()


def test_ocf_tester_passes_for_xen_vm(node, sim):
    ocf_dir, pythonpath = node
    vm = sim.vms[1]  # running on host2, where ocf-tester stops and starts it
    r = ocf_tester(sim, ocf_dir, pythonpath, "xen-vm", "host2", vm=vm)
    assert r.returncode == 0, r.stdout
    assert "passed all tests" in r.stdout


def test_ocf_tester_passes_for_xen_vm_at_depth_10(node, sim):
    """At OCF_CHECK_LEVEL 10 with ``check_guest``, ocf-tester's monitors also ask XAPI
    for the guest agent's report (at depth 0 they ask XAPI nothing), and pass."""
    ocf_dir, pythonpath = node
    vm = sim.vms[1]

    def guest_checks():
        return sim.xapi_calls().get("VM.get_guest_metrics", 0)

    r = ocf_tester(sim, ocf_dir, pythonpath, "xen-vm", "host2", 0, vm=vm, check_guest="true")
    assert r.returncode == 0 and "passed all tests" in r.stdout, r.stdout
    assert guest_checks() == 0
    r = ocf_tester(sim, ocf_dir, pythonpath, "xen-vm", "host2", 10, vm=vm, check_guest="true")
    assert r.returncode == 0 and "passed all tests" in r.stdout, r.stdout
    assert guest_checks() > 0


@pytest.mark.parametrize("host", ["host2", "host1"])
def test_ocf_tester_passes_for_xapi_pool_master(node, sim, host):
    """On a slave, and on the master: it finds the instance Promoted there, demotes it
    (the role moves to another host), and from then on it is a slave's instance."""
    ocf_dir, pythonpath = node
    r = ocf_tester(sim, ocf_dir, pythonpath, "xapi-pool-master", host)
    assert r.returncode == 0, r.stdout
    assert "passed all tests" in r.stdout
