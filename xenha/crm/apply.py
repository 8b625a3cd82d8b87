"""Apply crm shell text to the running cluster through crmsh, showing first what would change.

The preview applies the same text with the same crmsh to a copy of the CIB
(``CIB_file``), so the diff shown is exactly what the real load will do.
Setting ``CIB_file`` in the environment points everything at a CIB file
instead of a running cluster (how the tests run it).
"""

import difflib
import os
import shutil
import tempfile

from xenha import process
from xenha.errors import XenhaError

# crmsh takes seconds on a large configuration; a cluster that stops answering
# must not hang ``xenha config load`` for ever.
CRM_TIMEOUT = 120.0


class LoadError(XenhaError):
    """crmsh refused the configuration or the cluster cannot be read."""


def crm(argv, cib_file=None, stdin=None):
    """Run a crmsh or CIB tool (on ``cib_file`` if given); its output, or LoadError."""
    env = dict(os.environ)
    if cib_file:
        env["CIB_file"] = cib_file
    try:
        rc, out, err = process.run(argv, CRM_TIMEOUT, input=stdin, env=env)
    except OSError as e:
        raise LoadError("cannot run %s (%s); install crmsh" % (argv[0], e.strerror)) from None
    except process.CommandTimeout as e:
        raise LoadError("%s; is the cluster answering?" % e) from None
    if rc != 0:
        raise LoadError("%s failed:\n%s" % (" ".join(argv[:3]), (err or out).strip()))
    return out


def _load_argv(path, force):
    return ["crm"] + (["-F"] if force else []) + ["configure", "load", "update", path]


def diff_of(change, after="after load"):
    """Unified diff of ``crm configure show`` now and once ``change(copy, workdir)`` has
    changed a copy of the CIB (the file ``copy``), as crmsh shows both."""
    workdir = tempfile.mkdtemp(prefix="xenha-load-")
    try:
        copy = os.path.join(workdir, "cib.xml")
        with open(copy, "w") as f:
            f.write(crm(["cibadmin", "--query"]))
        before = crm(["crm", "configure", "show"], cib_file=copy)
        change(copy, workdir)
        now = crm(["crm", "configure", "show"], cib_file=copy)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return "".join(
        difflib.unified_diff(before.splitlines(True), now.splitlines(True), "running", after)
    )


def preview(crm_text, force=False):
    """Unified diff of ``crm configure show`` now and after loading ``crm_text``."""

    def load_into(copy, workdir):
        text = os.path.join(workdir, "config.crm")
        with open(text, "w") as f:
            f.write(crm_text)
        crm(_load_argv(text, force), cib_file=copy)

    return diff_of(load_into)


def load(crm_text, force=False):
    """``crm configure load update`` the text into the cluster (or ``$CIB_file``)."""
    fd, text = tempfile.mkstemp(prefix="xenha-", suffix=".crm")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(crm_text)
        return crm(_load_argv(text, force))
    finally:
        os.unlink(text)
