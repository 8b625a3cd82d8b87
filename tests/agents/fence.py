"""Helpers for fence-agent tests: run an agent (ours or fence-agents') with stdin options."""

import os
import subprocess
import threading
import time


def stdin_text(options):
    return "".join("%s=%s\n" % (k, v) for k, v in options.items())


def run_agent(path, options=None, argv=(), timeout=60):
    """Run a fence agent with ``options`` as key=value lines on stdin; CompletedProcess (text)."""
    return subprocess.run(
        [path] + list(argv),
        input=stdin_text(options or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=timeout,
    )


def run_watching_ps(path, options, secret):
    """Run the agent while sampling every process's full command line; assert that ``secret``
    shows up in none of them, nor in the agent's output. Returns the CompletedProcess."""
    seen, done = [], threading.Event()

    def sample():
        while not done.is_set():
            ps = ["ps", "-e", "-ww", "-o", "args"]
            seen.append(subprocess.check_output(ps, universal_newlines=True))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        r = run_agent(path, options)
    finally:
        done.set()
        sampler.join()
    name = os.path.basename(path)
    assert any(name in snapshot for snapshot in seen), "%s never seen running" % name
    assert not any(secret in snapshot for snapshot in seen), "secret visible in ps"
    assert secret not in r.stdout + r.stderr
    return r
