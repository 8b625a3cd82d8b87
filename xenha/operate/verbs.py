"""What operator commands ask the cluster to do, through Pacemaker's own tools.

The same :class:`Verbs` act on the live CIB or, given ``cib_file``, on a copy
(``CIB_file``, which every CIB tool honours): a preview plays exactly the steps a
command will take. The constraints are crm_resource's own ``cli-ban-*`` and
``cli-prefer-*``, which ``crm_resource --clear``, crmsh and pcs know.
"""

import os

from xenha.pacemaker import PacemakerError, tool

TIMEOUT = 30.0  # one tool call against the CIB


class Verbs:
    def __init__(self, cib_file=None):
        self.cib_file = cib_file

    def _do(self, *argv, timeout=TIMEOUT):
        env = dict(os.environ)
        if self.cib_file:
            env["CIB_file"] = self.cib_file
        return tool(list(argv), timeout, env)

    def ban(self, rsc, node):
        """Keep ``rsc`` off ``node`` (cli-ban-RSC-on-NODE, -INFINITY)."""
        self._do("crm_resource", "--ban", "--resource", rsc, "--node", node, "--quiet")

    def prefer(self, rsc, node, promoted=False):
        """Move ``rsc`` (its promoted instance) to ``node`` (cli-prefer-RSC, INFINITY).
        Pacemaker 2.1 named the promoted role's option ``--promoted``; 2.0 ``--master``."""
        argv = ["crm_resource", "--move", "--resource", rsc, "--node", node, "--quiet"]
        if not promoted:
            return self._do(*argv)
        try:
            self._do(*(argv + ["--promoted"]))
        except PacemakerError as e:
            if "promoted" not in str(e) or "nknown option" not in str(e):
                raise
            self._do(*(argv + ["--master"]))

    def clear(self, rsc, node=None):
        """Take back the ban/move constraints of ``rsc`` (on ``node`` only, if given)."""
        argv = ["crm_resource", "--clear", "--resource", rsc, "--quiet"]
        self._do(*(argv + (["--node", node] if node else [])))

    def standby(self, node, on=True):
        """Put ``node`` in standby or take it out (its permanent ``standby`` attribute,
        as crm node standby / pcs node standby set it)."""
        argv = ["crm_attribute", "--node", node, "--name", "standby"]
        self._do(*(argv + (["--update", "on"] if on else ["--update", "off"])))

    def cleanup(self, rsc, node=None):
        """Forget ``rsc``'s failures (on ``node``) so Pacemaker probes it afresh."""
        argv = ["crm_resource", "--cleanup", "--resource", rsc]
        return self._do(*(argv + (["--node", node] if node else [])))

    def forget(self, rsc):
        """Drop ``rsc``'s history on every node and probe it afresh (crm_resource
        --refresh): a deleted resource's history goes, and with it its orphan. A
        resource with neither configuration nor history has nothing to forget."""
        try:
            self._do("crm_resource", "--refresh", "--resource", rsc, "--quiet", timeout=120)
        except PacemakerError as e:
            if "(rc 105)" not in str(e):  # CRM_EX_NOSUCH: no such resource, not even in history
                raise

    def query(self):
        """The whole CIB (XML text)."""
        return self._do("cibadmin", "--query")

    def wait_idle(self, seconds):
        """Return once the cluster has nothing left to do (crm_resource --wait)."""
        seconds = max(1, int(seconds))
        self._do("crm_resource", "--wait", "--timeout", "%ds" % seconds, timeout=seconds + 10)

    def refresh(self):
        """Probe every resource afresh on every node (crm_resource --refresh): what
        runs where is read again; their failures and fail counts are forgotten."""
        self._do("crm_resource", "--refresh", "--quiet", timeout=120)

    def put_property_set(self, xml_text, exists):
        """Create or replace (``exists``) a cluster property set, in one CIB update."""
        verb = "--replace" if exists else "--create"
        self._do("cibadmin", verb, "--scope", "crm_config", "--xml-text", xml_text)

    def remove_property_set(self, set_id):
        self._do("cibadmin", "--delete", "--xml-text", '<cluster_property_set id="%s"/>' % set_id)

    def delete_xpath(self, xpath):
        """Delete the one CIB element at ``xpath``."""
        self._do("cibadmin", "--delete", "--xpath", xpath)

    def remove_nvpair(self, nvpair_id):
        """Remove one name/value pair (a cluster option's, say) by its id."""
        self._do("cibadmin", "--delete", "--xml-text", '<nvpair id="%s"/>' % nvpair_id)
