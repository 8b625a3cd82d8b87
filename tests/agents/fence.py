"""Helpers for fence-agent tests: install the agents once, run them with stdin options."""

import os
import subprocess

from xenha import install


def install_agents(tmp_path_factory):
    """``{name: path}`` of the fence agents installed by `xenha install` in a scratch root."""
    root = str(tmp_path_factory.mktemp("root"))
    install.install(root)
    sbin = os.path.join(root, install.FENCE_DIR)
    return {n: os.path.join(sbin, n) for n in os.listdir(sbin) if n.startswith("fence_xenha_")}


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
