"""`xenha config generate -f corosync` writes a whole corosync.conf that corosync itself
accepts, and the lab's hosts run exactly that file."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from xenha import model
from xenha.crm import render
from xenha.lab.cluster import Lab
from xenha.lab.hosts import Arbiter

GOLDEN = os.path.join(REPO, "tests", "golden")
CASES = sorted(f[: -len(".yaml")] for f in os.listdir(GOLDEN) if f.endswith(".yaml"))


def generated(description):
    return render.render(model.loads(yaml.safe_dump(description)), "corosync")


def qdevice_description(nodes, **qdevice):
    return {
        "cluster": {
            "name": "c",
            "nodes": [
                {"name": "n%d" % i, "address": "198.18.0.%d" % (10 + i), "allow_no_fencing": True}
                for i in range(1, nodes + 1)
            ],
        },
        "quorum": {"mode": "qdevice", "qdevice": dict(host="198.18.0.2", **qdevice)},
    }


def corosync_test(conf, tmp_path):
    """``corosync -t`` of ``conf`` in a network and mount namespace of its own that has the
    first node's address, its conf and a key in /etc/corosync, and a private log directory;
    its exit status and log."""
    etc, log = tmp_path / "etc", tmp_path / "log"
    etc.mkdir()
    log.mkdir()
    (etc / "corosync.conf").write_text(conf)
    subprocess.run(["corosync-keygen", "-k", str(etc / "authkey")], capture_output=True, check=True)
    address = re.search(r"ring0_addr: (\S+)", conf).group(1)
    script = (
        "ip link add xhtest0 type veth peer name xhtest1 && ip link set xhtest0 up && "
        "ip addr add %s/24 dev xhtest0 && mount --bind %s /etc/corosync && "
        "mount --bind %s /var/log/corosync && corosync -t" % (address, etc, log)
    )
    r = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script], capture_output=True)
    text = (log / "corosync.log").read_text() if (log / "corosync.log").exists() else ""
    return r.returncode, text + r.stderr.decode()


needs_corosync = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("corosync") or not os.path.isdir("/var/log/corosync"),
    reason="corosync -t needs root (namespaces) and corosync installed",
)


@pytest.mark.parametrize("case", CASES)
def test_generated_file_is_a_whole_corosync_conf(case):
    text = render.render(model.load(os.path.join(GOLDEN, case + ".yaml")), "corosync")
    for line in (
        "version: 2",
        "transport: knet",
        "crypto_cipher: aes256",
        "crypto_hash: sha256",
        "keyfile: /etc/corosync/authkey",
        "provider: corosync_votequorum",
        "logfile: /var/log/corosync/corosync.log",
    ):
        assert "    " + line + "\n" in text, line
    for section in ("totem", "nodelist", "quorum", "logging"):
        assert re.search(r"^%s \{$" % section, text, re.M), section


@needs_corosync
@pytest.mark.parametrize("case", CASES)
def test_corosync_accepts_the_generated_file(case, tmp_path):
    text = render.render(model.load(os.path.join(GOLDEN, case + ".yaml")), "corosync")
    status, log = corosync_test(text, tmp_path)
    assert status == 0, log


@pytest.mark.parametrize("nodes", [2, 4])
def test_ffsplit_gives_the_arbiter_one_vote_whatever_the_number_of_nodes(nodes):
    # corosync-qdevice(8): ffsplit needs quorum.device.votes set to 1.
    assert "        votes: 1\n" in generated(qdevice_description(nodes))


def test_lms_leaves_the_votes_to_corosync_qdevice():
    # corosync-qdevice(8): for lms the votes key is left out (default: nodes - 1).
    text = generated(qdevice_description(4, algorithm="lms"))
    assert "algorithm: lms" in text and "votes:" not in text


def test_qdevice_tls_is_the_descriptions_and_on_by_default():
    assert "            tls: on\n" in generated(qdevice_description(2))
    assert "            tls: off\n" in generated(qdevice_description(2, tls="off"))
    with pytest.raises(model.ModelError, match="tls: got 'maybe'"):
        generated(qdevice_description(2, tls="maybe"))


# -- timing profiles: production by default, fast for the lab and benchmarks ------------------


def totem_and_qdevice(description):
    """The totem section's and quorum.device's ``key: value`` lines, as a dict."""
    text = generated(description)
    totem = text[text.index("totem {") : text.index("nodelist {")]
    device = text[text.index("quorum {") :]
    pairs = re.findall(r"^ +(\w+): (\S+)$", totem + device, re.M)
    return text, {k: v for k, v in pairs if k not in ("host", "model", "votes")}


def test_production_timing_is_corosyncs_and_qdevices_own_defaults():
    """Token 3000 ms plus 650 ms per node above two, qdevice 10 s / 30 s (corosync.conf(5),
    corosync-qdevice(8)); knet keeps the link up for the whole effective token."""
    text, conf = totem_and_qdevice(qdevice_description(3))
    assert "Timing profile production (cluster.timing)" in text
    assert "a\n    # lost host is noticed 8.03 s after its last token" in text  # 2.2 x 3650 ms
    assert {k: conf[k] for k in ("token", "token_coefficient", "timeout", "sync_timeout")} == {
        "token": "3000",
        "token_coefficient": "650",
        "timeout": "10000",
        "sync_timeout": "30000",
    }
    assert (conf["knet_ping_timeout"], conf["knet_ping_interval"]) == ("3650", "912")
    assert conf["knet_pong_count"] == "1"
    assert model.loads(yaml.safe_dump(qdevice_description(3)))["cluster"]["timing"] == "production"


def test_fast_timing_and_token_ms_as_an_override():
    fast = qdevice_description(3)
    fast["cluster"]["timing"] = "fast"
    text, conf = totem_and_qdevice(fast)
    assert "Timing profile fast" in text and "noticed 2.86 s after" in text
    assert (conf["token"], conf["token_coefficient"]) == ("1300", "0")
    assert (conf["timeout"], conf["sync_timeout"]) == ("2000", "4000")
    assert (conf["knet_ping_timeout"], conf["knet_ping_interval"]) == ("1300", "325")
    for timing, coefficient in (("fast", "0"), ("production", "650")):
        override = qdevice_description(2)
        override["cluster"].update(timing=timing, token_ms=5000)
        _, conf = totem_and_qdevice(override)
        assert (conf["token"], conf["token_coefficient"]) == ("5000", coefficient)
        assert conf["knet_ping_timeout"] == "5000"


def test_the_lab_asks_for_the_fast_profile():
    for hosts, quorum in LABS:
        lab = Lab(hosts, quorum)
        assert lab.cluster_description()["cluster"]["timing"] == "fast"
        assert "    token: 1300\n    token_coefficient: 0\n" in lab.corosync_conf()
    bench = Lab(3, timing="production")
    assert "    token: 3000\n    token_coefficient: 650\n" in bench.corosync_conf()


# -- the lab runs exactly what the generator writes for the lab's description ----------------

LABS = [(2, None), (2, "qdevice"), (3, None)]


@pytest.mark.parametrize("hosts,quorum", LABS)
def test_the_lab_runs_what_xenha_config_generate_prints(hosts, quorum, tmp_path, xenha):
    lab = Lab(hosts, quorum)
    # What `xenha lab up` writes to /var/lib/xenha-lab/pool.yaml before the hosts boot.
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(lab.cluster_description(), sort_keys=False))
    r = xenha("config", "generate", "-f", "corosync", str(path))
    assert r.returncode == 0, r.stderr
    assert lab.corosync_conf() == r.stdout


def test_lab_quorum_as_the_description_says():
    two, arbiter, three = (Lab(h, q).corosync_conf() for h, q in LABS)
    assert "    two_node: 1\n" in two and "device {" not in two
    assert "two_node: 1" not in arbiter
    for line in ("votes: 1", "host: %s" % Arbiter.ADDRESS, "algorithm: ffsplit", "tls: off"):
        assert line + "\n" in arbiter, line
    assert "two_node: 1" not in three and "device {" not in three
    assert three.count("    node {\n") == 3


@needs_corosync
@pytest.mark.parametrize("hosts,quorum", LABS)
def test_corosync_accepts_the_labs_file(hosts, quorum, tmp_path):
    status, log = corosync_test(Lab(hosts, quorum).corosync_conf(), tmp_path)
    assert status == 0, log


def test_lab_quorum_modes_are_the_descriptions():
    from xenha.cli import lab as cli
    from xenha.lab import cluster
    from xenha.model.spec import SPEC

    modes = set(SPEC["quorum"].spec["mode"].choices)
    assert set(cluster.QUORUM_MODES) == set(cli.QUORUM_MODES) == modes
