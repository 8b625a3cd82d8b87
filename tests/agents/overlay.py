"""Run a command where Pacemaker's tools see the agents a test installed.

Pacemaker 2.1's tools and pcs look for agents only in the directories they were built
with (/usr/lib/ocf/resource.d, /usr/sbin; no environment variable moves them), and an
agent's validate-all reads what a node has (secrets, the XAPI socket). So the command
runs in a private mount namespace where trees (an ``xenha install --root`` tree, a
node's files) are laid over those directories: this machine's own files are never
touched.
"""

import os
import re
import subprocess

# The directories a layer may add files to (each becomes an overlay in the namespace).
LAID_OVER = ("etc", "usr/lib/ocf/resource.d", "usr/local/sbin", "usr/sbin", "var/lib")
LAY = """\
set -e
mount --make-rprivate /
%s
exec "$@"
"""


def on_node(argv, layers, env=None, stderr=subprocess.STDOUT):
    """Run ``argv`` where the trees ``layers`` lie over / (under LAID_OVER only), in a
    private mount namespace; stdout with stderr (unless ``stderr`` says otherwise), ANSI
    colours stripped."""
    mounts = []
    for d in LAID_OVER:
        lower = [
            os.path.join(layer, d) for layer in layers if os.path.isdir(os.path.join(layer, d))
        ]
        if lower:
            opts = "lowerdir=" + ":".join(lower + ["/" + d])
            mounts.append("mount -t overlay overlay -o %s /%s" % (opts, d))
    r = subprocess.run(
        ["unshare", "--mount", "sh", "-c", LAY % "\n".join(mounts), "sh"] + argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        universal_newlines=True,
        timeout=120,
    )
    r.stdout = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)
    return r
