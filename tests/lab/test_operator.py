"""The operator's commands on a real lab: `xenha fence test` probes every level of a node's
fencing through the installed agents and the lab's BMC and PDU, and powers nothing;
`xenha fence history` reads the fencer."""

import json
import time

import jsonschema

from tests.lab.test_failover import XENHA, add_meatware, configured_lab, fencing_events
from xenha import fence_drill
from xenha.lab.scenarios import evidence


def test_fence_test_probes_each_level_and_powers_nothing():
    with configured_lab(fencing="ipmi,apc", edit=add_meatware) as lab:
        since = time.time()
        # exec fails (a XenhaError with the output) unless the command exits 0.
        out = lab.hosts[0].exec([XENHA, "fence", "test", "host2"], timeout=180)
        print(out)  # what an operator sees, shown by pytest -rA
        assert out.startswith("xenha fence test host2: OK"), out
        assert "probed from host1 with action=status only" in out, out
        for line in (
            "fencing-topology level 1: WORKS",
            "fencing-topology level 2: WORKS",
            "fencing-topology level 3: MANUAL",
        ):
            assert line in out, out
        assert "fence-host2-ilo fence_xenha_ilo plug=host2" in out, out
        assert "fence-host2-apc fence_xenha_apc plug=2 (cib)" in out, out
        result = json.loads(lab.hosts[0].exec([XENHA, "fence", "test", "host2", "--json"]))
        jsonschema.validate(result, fence_drill.SCHEMA)
        assert result["members"] == ["host1", "host2", "host3"]
        assert all(d["state"] == "on" for d in result["levels"][0]["devices"])
        for host in lab.hosts:
            assert evidence.power_changes(host.name, "off", since) == [], host.name
            assert evidence.power_changes(host.name, "on", since) == [], host.name
        assert fencing_events(since) == []

        history = json.loads(lab.hosts[1].exec([XENHA, "fence", "history", "--json"]))
        jsonschema.validate(history, fence_drill.HISTORY_SCHEMA)
        assert not [e for e in history["events"] if e["completed"] and e["completed"] >= since]
        print(lab.hosts[1].exec([XENHA, "fence", "history"]))
