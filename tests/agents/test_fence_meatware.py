"""fence_xenha_meatware with `xenha fence confirm`: exact node match, bounded wait."""

import os
import subprocess
import time

from tests.agents.fence import run_agent, stdin_text
from tests.conftest import run_xenha


def start(agent, confirm_dir, node, action="off", power_timeout=30):
    opts = {"action": action, "port": node, "confirm_dir": confirm_dir}
    opts["power_timeout"] = power_timeout
    proc = subprocess.Popen(
        [agent],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    proc.stdin.write(stdin_text(opts))
    proc.stdin.close()
    request = os.path.join(confirm_dir, node + ".request")
    deadline = time.monotonic() + 20
    while not os.path.exists(request):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "no request written"
        time.sleep(0.05)
    return proc


def finish(proc):
    try:
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, out, err


def test_confirm_exact_node_only(fence_agents, tmp_path):
    d = str(tmp_path)
    proc = start(fence_agents["fence_xenha_meatware"], d, "node1")
    try:
        r = run_xenha("fence", "pending", "--dir", d)
        assert r.stdout.split() == ["node1"]
        for wrong in ("node10", "node", "Node1"):
            r = run_xenha("fence", "confirm", wrong, "--dir", d)
            assert r.returncode == 1 and "no fence request waits for node %r" % wrong in r.stderr
        time.sleep(0.3)
        assert proc.poll() is None, "succeeded without a confirmation"
        r = run_xenha("fence", "confirm", "node1", "--dir", d)
        assert r.returncode == 0, r.stderr
    finally:
        rc, out, err = finish(proc)
    assert rc == 0, err
    # The request is a critical message of the agent's log: syslog, and stderr (which
    # Pacemaker's fencer logs as a warning), never stdout, which carries results.
    assert "fence_xenha_meatware: critical: MEATWARE: power off node node1 by hand" in err
    assert "power off" not in out
    assert run_xenha("fence", "confirm", "node1", "--dir", d).returncode == 1  # nothing pending


def test_old_confirmation_does_not_count_for_a_new_request(fence_agents, tmp_path):
    d = str(tmp_path)
    agent = fence_agents["fence_xenha_meatware"]
    proc = start(agent, d, "node2", action="reboot")
    assert run_xenha("fence", "confirm", "node2", "--dir", d).returncode == 0
    assert finish(proc)[0] == 0
    r = run_agent(agent, {"action": "status", "plug": "node2", "confirm_dir": d})
    assert (r.returncode, r.stdout.strip()) == (2, "Status: OFF")
    r = run_agent(agent, {"action": "off", "plug": "node2", "confirm_dir": d, "power_timeout": 1})
    assert r.returncode == 1
    assert "node2 not read back OFF within power_timeout=1s" in r.stderr
    assert "nobody has confirmed yet" in r.stderr


def test_status_without_confirmation_is_unknown(fence_agents, tmp_path):
    opts = {"action": "status", "plug": "node3", "confirm_dir": str(tmp_path)}
    r = run_agent(fence_agents["fence_xenha_meatware"], opts)
    assert r.returncode == 1 and r.stdout == ""


def test_bad_node_names_are_refused(fence_agents, tmp_path):
    opts = {"action": "off", "plug": "../etc/passwd", "confirm_dir": str(tmp_path)}
    r = run_agent(fence_agents["fence_xenha_meatware"], opts)
    assert r.returncode == 1 and "is not a node name" in r.stderr
    r = run_xenha("fence", "confirm", "a/b", "--dir", str(tmp_path))
    assert r.returncode == 1 and "is not a node name" in r.stderr
    r = run_agent(fence_agents["fence_xenha_meatware"], {"action": "on", "plug": "node1"})
    assert r.returncode == 1 and "action 'on' is not supported" in r.stderr
