"""The dom0 package: packaging/xenha.spec built with Debian's rpmbuild for el7 (XCP-ng 8.x,
XenServer 8: Python 3.6) and el10 (XCP-ng 9: Python 3.12), then installed into a scratch
root, where its agents answer meta-data that validates."""

import os
import subprocess

import pytest
from lxml import etree

from tests.conftest import REPO
from xenha import __version__
from xenha.install import ALERT_STATE_DIR, FENCE_DIR, OCF_DIR, shipped_agents

SCHEMAS = "/usr/share/resource-agents/"
TARGETS = {
    "el7": ("/usr/lib/python3.6/site-packages", "7", "3.6", "python36-PyYAML"),
    "el10": ("/usr/lib/python3.12/site-packages", "10", "3.12", "python3-pyyaml"),
}


def query(rpm, *argv):
    out = subprocess.run(
        ["rpm", "-qp", *argv, rpm], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True
    )
    return out.stdout.decode().splitlines()


@pytest.fixture(scope="module", params=sorted(TARGETS))
def built(request, tmp_path_factory):
    sitelib, rhel, _, _ = TARGETS[request.param]
    out = tmp_path_factory.mktemp(request.param)
    subprocess.run(
        [os.path.join(REPO, "packaging", "build-rpm"), str(out)]
        + ["--define", "rhel " + rhel, "--define", "dist ." + request.param]
        + ["--define", "python3_sitelib " + sitelib],
        check=True,
        stdout=subprocess.PIPE,
    )
    (rpm,) = out.glob("*.rpm")
    return request.param, str(rpm)


def test_the_package_holds_every_shipped_agent_the_command_and_the_docs(built):
    target, rpm = built
    assert os.path.basename(rpm) == "xenha-%s-1.%s.noarch.rpm" % (__version__, target)
    files = set(query(rpm, "-l"))
    for agent in shipped_agents():
        relpath = agent.relpath.replace("etc/systemd/system/", "usr/lib/systemd/system/")
        assert "/" + relpath in files
    assert "/usr/bin/xenha" in files
    assert any(f.endswith("/README.md") and "/doc/" in f for f in files)
    assert not [f for f in files if "__pycache__" in f]
    assert "/%s/fence_xenha_ssh" % FENCE_DIR not in files  # the lab's only
    owners = {
        line.split()[0]: line.split()[1:]
        for line in query(rpm, "--qf", "[%{FILENAMES} %{FILEUSERNAME} %{FILEMODES:perms}\n]")
    }
    assert owners["/" + ALERT_STATE_DIR] == ["hacluster", "drwx------"]
    assert owners["/usr/lib/ocf/resource.d/xenha/xen-vm"] == ["root", "-rwxr-xr-x"]


def test_the_dependencies_are_the_targets(built):
    target, rpm = built
    _, _, abi, yaml = TARGETS[target]
    requires = set(query(rpm, "--requires"))
    assert {"python(abi) = " + abi, "python3 >= 3.6", "pacemaker", "corosync", yaml} <= requires
    assert not [r for r in requires if "Zstd" in r]  # el7's rpm reads gzip, not zstd
    assert query(rpm, "--qf", "%{PAYLOADCOMPRESSOR}") == ["gzip"]


def test_installed_into_a_scratch_root_its_agents_answer_meta_data(built, tmp_path):
    target, rpm = built
    root = str(tmp_path / "root")
    subprocess.run(["rpm", "--root", root, "--initdb"], check=True)
    subprocess.run(
        ["rpm", "--root", root, "-i", "--nodeps", "--noscripts", rpm],
        check=True,
        stderr=subprocess.PIPE,  # "user hacluster does not exist - using root"
    )
    # The launchers run dom0's /usr/bin/python3; here, the packaged library from the root.
    env = dict(os.environ, PYTHONPATH=root + TARGETS[target][0])
    rng = etree.RelaxNG(etree.parse(SCHEMAS + "metadata.rng"))
    for agent in shipped_agents():
        path = os.path.join(root, agent.relpath)
        if agent.relpath.startswith(("etc/", "usr/lib/xenha")):
            continue
        with open(path) as f:
            assert f.readline() == "#!/usr/bin/python3\n"
        action = ["meta-data"] if agent.relpath.startswith(OCF_DIR) else ["-o", "metadata"]
        out = subprocess.run(
            [path] + action, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert out.returncode == 0, (path, out.stderr)
        doc = etree.fromstring(out.stdout)
        assert doc.get("name") == os.path.basename(path)
        if agent.relpath.startswith(OCF_DIR):
            assert rng.validate(etree.ElementTree(doc)), rng.error_log
    out = subprocess.run(
        [root + "/usr/bin/xenha", "--version"], env=env, stdout=subprocess.PIPE, check=True
    )
    assert out.stdout.decode().strip() == "xenha " + __version__
