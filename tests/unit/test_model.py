"""The description's checks: every error names file, line and key, and says what is expected."""

import textwrap

import pytest

from xenha import model
from xenha.model import ModelError

NODES = """\
cluster:
  name: c
  nodes:
    - name: n1
      address: 10.0.0.1
      fencing: [{device: ilo, ip: 10.0.1.1, username: u, password_file: /etc/xenha/s}]
    - name: n2
      address: 10.0.0.2
      fencing: [{device: ilo, ip: 10.0.1.2, username: u, password_file: /etc/xenha/s}]
"""


def error(text):
    with pytest.raises(ModelError) as e:
        model.loads(textwrap.dedent(text), "pool.yaml")
    return str(e.value)


def test_a_minimal_description_gets_sensible_defaults():
    m = model.loads(NODES + "vms: [0d6a4c2e-4b7e-4c55-9d1a-2f1f3c1e9a01]\n")
    assert m["quorum"]["mode"] == "two_node"
    assert m["quorum"]["no_quorum_policy"] == "stop"
    assert m["cluster"]["nodes"][0]["host"] == "n1"
    assert m["cluster"]["nodes"][0]["fencing"][0]["level"] == 1
    vm = m["vms"][0]
    assert vm["id"] == "vm-0d6a4c2e-4b7e-4c55-9d1a-2f1f3c1e9a01"
    assert vm["migrate"] is True and vm["priority"] == 0 and vm["uses_storage"] is False
    assert m["resources"]["stickiness"] == 1000 and m["storage"] is False
    assert (m["cluster"]["timing"], m["cluster"]["token_ms"]) == ("production", 3000)


def test_a_token_too_short_for_a_network_hiccup_is_refused():
    text = NODES.replace("cluster:\n", "cluster:\n  token_ms: 200\n")
    assert "cluster.token_ms: 200 is outside 500..60000" in error(text)


def test_missing_required_key_names_the_section_and_what_it_is():
    msg = error(NODES.replace("  name: c\n", ""))
    assert msg == "pool.yaml:1: cluster: missing key 'name' (the cluster name)"


def test_missing_node_address():
    msg = error(NODES.replace("      address: 10.0.0.2\n", ""))
    assert msg.startswith("pool.yaml:7: cluster.nodes[1]: missing key 'address'")


def test_missing_cluster_section():
    assert error("vms: []\n") == "pool.yaml:1: missing key 'cluster' (a mapping of keys to values)"


def test_wrong_type_says_what_was_given_and_what_is_expected():
    msg = error(NODES + "vms:\n  - {vm: abc, priority: high}\n")
    assert msg == "pool.yaml:11: vms[0].priority: got 'high'; expected a whole number"


def test_wrong_choice_lists_the_choices():
    msg = error(NODES + "quorum: {mode: majoritty}\n")
    assert msg == (
        "pool.yaml:10: quorum.mode: got 'majoritty'; expected one of: two_node, qdevice, majority"
    )


def test_wrong_duration():
    msg = error(NODES + "fencing: {race_delay: soon}\n")
    assert "pool.yaml:10: fencing.race_delay: got 'soon'; expected a duration" in msg


def test_unknown_key_lists_the_known_ones():
    msg = error(NODES + "vms:\n  - {vm: abc, prio: 3}\n")
    assert msg.startswith("pool.yaml:11: vms[0].prio: unknown key; expected one of: check_guest,")


def test_duplicate_vm_points_at_both_entries():
    msg = error(NODES + "vms:\n  - {vm: abc, name: a}\n  - {vm: abc, name: b}\n")
    assert msg == "pool.yaml:12: vms[1].vm: duplicate VM vm 'abc' (also at pool.yaml:11)"


def test_duplicate_vm_across_appliances():
    text = NODES + (
        "pool: {mode: appliances}\n"
        "appliances:\n"
        "  - {name: a, vms: [abc]}\n"
        "  - name: b\n"
        "    vms:\n"
        "      - abc\n"
    )
    msg = error(text)
    assert msg == (
        "pool.yaml:15: appliances[1].vms[0].vm: duplicate VM vm 'abc' (also at pool.yaml:12)"
    )


def test_duplicate_resource_id_from_names():
    msg = error(NODES + "vms:\n  - {vm: a1, name: web}\n  - {vm: a2, name: web}\n")
    assert msg == "pool.yaml:12: vms[1].id: duplicate VM id 'vm-web' (also at pool.yaml:11)"


def test_node_without_fence_device_is_refused():
    text = NODES.replace(
        "      fencing: [{device: ilo, ip: 10.0.1.2, username: u, password_file: /etc/xenha/s}]\n",
        "",
    )
    msg = error(text)
    assert msg.startswith("pool.yaml:7: cluster.nodes[1]: node 'n2' has no fence device;")
    assert "allow_no_fencing: true" in msg


def test_node_without_fence_device_is_accepted_when_explicitly_allowed():
    text = NODES.replace(
        "      fencing: [{device: ilo, ip: 10.0.1.2, username: u, password_file: /etc/xenha/s}]\n",
        "      allow_no_fencing: true\n",
    )
    m = model.loads(text)
    assert m["cluster"]["nodes"][1]["fencing"] == []


@pytest.mark.parametrize(
    "snippet, line, key",
    [
        (
            NODES.replace(
                "password_file: /etc/xenha/s}]\n    - name: n2",
                "password: s3cret}]\n    - name: n2",
            ),
            6,
            "cluster.nodes[0].fencing[0].password",
        ),
        (
            NODES.replace("username: u, password_file", "passwd: x, password_file"),
            6,
            "cluster.nodes[0].fencing[0].passwd",
        ),
        (NODES + "pool:\n  xapi:\n    password: hunter2\n", 12, "pool.xapi.password"),
        (
            NODES + "alerts:\n  recipients: [a@b.c]\n  smtp: {user: u, password: x}\n",
            12,
            "alerts.smtp.password",
        ),
    ],
)
def test_inline_secrets_are_refused_and_not_echoed(snippet, line, key):
    msg = error(snippet)
    assert msg.startswith("pool.yaml:%d: %s: inline secret refused; " % (line, key))
    assert "password_file" in msg
    for secret in ("s3cret", "hunter2"):
        assert secret not in msg


def test_smtp_login_needs_starttls_and_a_password_file():
    msg = error(NODES + "alerts:\n  recipients: [a@b.c]\n  smtp: {user: u, password_file: /s}\n")
    assert msg.startswith("pool.yaml:12: alerts.smtp: a user needs starttls: true")


def test_an_inline_snmp_community_is_refused_as_a_secret():
    pdu = "device: apc, ip: 10.0.1.9, plug: 1, community: wr1te"
    msg = error(
        NODES.replace("device: ilo, ip: 10.0.1.1, username: u, password_file: /etc/xenha/s", pdu)
    )
    assert msg.startswith(
        "pool.yaml:6: cluster.nodes[0].fencing[0].community: inline secret refused; "
    )
    assert "SNMP write community" in msg and "password_file" in msg
    assert "wr1te" not in msg


def test_the_snmp_community_comes_from_password_file():
    pdu = "device: apc, ip: 10.0.1.9, plug: 1, password_file: /etc/xenha/pdu.community"
    m = model.loads(
        NODES.replace("device: ilo, ip: 10.0.1.1, username: u, password_file: /etc/xenha/s", pdu)
    )
    assert m["cluster"]["nodes"][0]["fencing"][0]["password_file"] == "/etc/xenha/pdu.community"


XAPI = "device: xapi, ip: 10.0.0.2, username: root, password_file: /etc/xenha/xapi.secret"
ILO1 = "device: ilo, ip: 10.0.1.1, username: u, password_file: /etc/xenha/s"


def test_xapi_and_xvm_devices_need_the_xapi_address():
    for kind, what in (("xapi", "the pool's XAPI endpoint"), ("xvm", "the Dom0's XAPI")):
        msg = error(NODES.replace(ILO1, "device: %s, plug: vm1" % kind))
        assert msg.startswith("pool.yaml:6: cluster.nodes[0].fencing[0]: missing key 'ip' ")
        assert what in msg


def test_xapi_plug_defaults_to_the_nodes_pool_host():
    text = NODES.replace(ILO1, ILO1 + "}, {" + XAPI).replace(
        "    - name: n1\n", "    - name: n1\n      host: 5f1c-uuid-1\n"
    )
    (ilo, xapi) = model.loads(text)["cluster"]["nodes"][0]["fencing"]
    assert xapi["plug"] == "5f1c-uuid-1" and ilo["plug"] is None


def test_pool_only_fencing_is_refused_because_it_cuts_no_power():
    msg = error(NODES.replace(ILO1, XAPI))
    assert msg.startswith("pool.yaml:4: cluster.nodes[0]: node 'n1' is fenced only by device: xapi")
    assert "cuts no power" in msg and "allow_pool_only_fencing: true" in msg


def test_pool_only_fencing_when_explicitly_allowed_per_node_or_for_the_cluster():
    per_node = NODES.replace(ILO1, XAPI).replace(
        "      address: 10.0.0.1\n",
        "      address: 10.0.0.1\n      allow_pool_only_fencing: true\n",
    )
    assert model.loads(per_node)["cluster"]["nodes"][0]["fencing"][0]["device"] == "xapi"
    cluster = NODES.replace(ILO1, XAPI).replace(
        "  name: c\n", "  name: c\n  allow_pool_only_fencing: true\n"
    )
    assert model.loads(cluster)["cluster"]["nodes"][0]["allow_pool_only_fencing"] is True
    node_says_no = cluster.replace(
        "      address: 10.0.0.1\n",
        "      address: 10.0.0.1\n      allow_pool_only_fencing: false\n",
    )
    assert "is fenced only by device: xapi" in error(node_says_no)
    # A power device in front of the pool fence needs no permission.
    behind_power = NODES.replace(ILO1, ILO1 + "}, {" + XAPI)
    assert len(model.loads(behind_power)["cluster"]["nodes"][0]["fencing"]) == 2


def test_pool_fencing_listed_first_is_tried_after_the_power_devices():
    """POOL fencing (declare_dead) "succeeds" for a host merely cut off from the master:
    without levels it comes after every power device, wherever it is listed."""
    text = NODES.replace(ILO1, XAPI + "}, {" + ILO1 + "}, {device: meatware")
    xapi, ilo, meatware = model.loads(text)["cluster"]["nodes"][0]["fencing"]
    assert (ilo["level"], meatware["level"], xapi["level"]) == (1, 2, 3)


def test_pool_fencing_before_a_power_level_is_refused_with_the_fix():
    explicit = NODES.replace(ILO1, XAPI + ", level: 1}, {" + ILO1 + ", level: 2")
    msg = error(explicit)
    assert msg.startswith("pool.yaml:6: cluster.nodes[0].fencing[0].level: node 'n1': device: ")
    assert "xapi at level 1 would be tried before the power device(s) at level 2" in msg
    assert "cuts no power" in msg
    assert "Move device: xapi after the power devices (level 3)" in msg
    # After the last power level, or sharing a level with a power device: accepted.
    for xapi_level, ilo_level in ((2, 1), (3, 1), (1, 1)):
        ok = NODES.replace(
            ILO1, "%s, level: %d}, {%s, level: %d" % (XAPI, xapi_level, ILO1, ilo_level)
        )
        levels = [d["level"] for d in model.loads(ok)["cluster"]["nodes"][0]["fencing"]]
        assert levels == [xapi_level, ilo_level]


def test_username_without_a_secret_reference():
    msg = error(
        NODES.replace(", password_file: /etc/xenha/s}]\n    - name: n2", "}]\n    - name: n2")
    )
    assert msg == (
        "pool.yaml:6: cluster.nodes[0].fencing[0]: has a username but no password_file "
        "or password_script"
    )


def test_fence_device_checks():
    assert "expected one of: ribcl, ipmi, redfish" in error(
        NODES.replace("ip: 10.0.1.1,", "ip: 10.0.1.1, method: racadm,")
    )
    msg = error(NODES.replace("device: ilo, ip: 10.0.1.1,", "device: apc, ip: 10.0.1.1,"))
    assert "missing key 'plug'" in msg
    msg = error(NODES.replace("device: ilo, ip: 10.0.1.1", "device: toaster, ip: 10.0.1.1"))
    assert msg.startswith("pool.yaml:6: cluster.nodes[0].fencing[0].device: got 'toaster';")
    assert "give either 'login' or 'username'" in error(
        NODES.replace("username: u,", "username: u, login: v,")
    )


def test_test_only_fence_devices_need_a_lab_description():
    """fence_xenha_ssh is for test labs: a production description may not name it."""
    ssh = NODES.replace(
        "device: ilo, ip: 10.0.1.1, username: u, password_file: /etc/xenha/s", "device: ssh"
    )
    assert error(ssh) == (
        "pool.yaml:6: cluster.nodes[0].fencing[0].device: ssh is a test-only fence device "
        "(fence_xenha_ssh, for test labs); a description may use it only with cluster.lab: true"
    )
    m = model.loads(ssh.replace("  name: c\n", "  name: c\n  lab: true\n"))
    assert m["cluster"]["lab"] is True
    assert m["cluster"]["nodes"][0]["fencing"][0]["device"] == "ssh"
    assert model.loads(NODES)["cluster"]["lab"] is False


def test_aliases_become_the_canonical_option_names():
    m = model.loads(NODES.replace("username: u,", "login: u, port: 4,"))
    dev = m["cluster"]["nodes"][0]["fencing"][0]
    assert dev["username"] == "u" and dev["plug"] == "4" and "login" not in dev


def test_quorum_checks():
    three = NODES + "    - {name: n3, address: 10.0.0.3, allow_no_fencing: true}\n"
    assert "two_node needs exactly 2 nodes, got 3" in error(three + "quorum: {mode: two_node}\n")
    assert model.loads(three)["quorum"]["mode"] == "majority"
    assert "missing key 'host' (the qnetd arbiter)" in error(NODES + "quorum: {mode: qdevice}\n")


def test_a_bare_on_or_off_reads_as_the_word_where_the_choices_are_words():
    """YAML 1.1 turns a bare off into false; tls and heuristics_mode mean the word."""
    qdevice = NODES + "quorum:\n  mode: qdevice\n  qdevice: {host: 10.0.0.9, %s}\n"
    m = model.loads(qdevice % "tls: off, heuristics_mode: on")
    assert (m["quorum"]["qdevice"]["tls"], m["quorum"]["qdevice"]["heuristics_mode"]) == (
        "off",
        "on",
    )
    assert "expected one of: on, off, required" in error(qdevice % "tls: 3")
    assert "expected a text value" in error(NODES + "pool: {flag_field: false}\n")


def test_start_after_must_name_a_vm_of_the_description():
    msg = error(NODES + "vms:\n  - {vm: a1, start_after: [nope]}\n")
    assert msg == "pool.yaml:11: vms[0].start_after[0]: 'nope' is not a VM of this description"


def test_start_after_resolves_names_uuids_and_ids():
    m = model.loads(
        NODES + "vms:\n  - {vm: u1, name: db}\n  - {vm: u2, start_after: [db]}\n"
        "  - {vm: u3, start_after: [u1, vm-u2]}\n"
    )
    assert m["vms"][1]["start_after"] == ["vm-db"]
    assert m["vms"][2]["start_after"] == ["vm-db", "vm-u2"]


def test_preferred_host_must_be_a_node():
    msg = error(NODES + "vms:\n  - {vm: a1, preferred_host: n9}\n")
    assert msg == "pool.yaml:11: vms[0].preferred_host: 'n9' is not a node; expected one of: n1, n2"


def test_resource_ids_must_start_with_vm():
    msg = error(NODES + "vms:\n  - {vm: a1, id: db}\n")
    assert msg.startswith("pool.yaml:11: vms[0].id: got 'db'; expected vm- followed by")


def test_mode_and_sections_must_agree():
    assert "given, but pool.mode is 'vms'" in error(NODES + "appliances: [{name: a, vms: [x]}]\n")
    msg = error(NODES + "pool: {mode: appliances}\nvms: [x]\n")
    assert "given, but pool.mode is 'appliances'" in msg


def test_storage_is_refused_until_its_agent_exists():
    """The generator would emit ocf:xenha:drbd-iscsi-target, which is not built yet: any
    storage section, complete or not, gets the one message, at its line."""
    storage = (
        "storage: {drbd_resources: [r0], target_iqn: iqn.x, ip: 10.0.0.9, cidr_netmask: 24, "
        "nic: eth0, sr_uuid: abc}\n"
    )
    expected = (
        "pool.yaml:10: storage: replicated storage (drbd-iscsi-target) is not available in "
        "this version yet; remove the section"
    )
    assert error(NODES + storage + "vms: [x]\n") == expected
    assert error(NODES + "storage: {ip: 10.0.0.9}\n") == expected
    msg = error(NODES + "vms:\n  - {vm: x, uses_storage: true}\n")
    assert msg == "pool.yaml:11: vms[0].uses_storage: true, but there is no 'storage' section"


def test_yaml_errors_have_a_line():
    msg = error(NODES + "vms: [a, b\n")
    assert msg.startswith("pool.yaml:1") and "not valid YAML" in msg


def test_a_key_written_twice_is_an_error_not_a_silent_override():
    msg = error(NODES + "quorum: {mode: two_node}\nquorum: {mode: majority}\n")
    assert msg == "pool.yaml:11: quorum: written twice (first at line 10)"


def test_the_example_from_init_is_valid():
    import os

    example = os.path.join(os.path.dirname(model.__file__), "example.yaml")
    m = model.load(example)
    assert m["quorum"]["mode"] == "qdevice" and len(m["vms"]) == 2


def test_unreadable_file():
    with pytest.raises(ModelError, match="cannot read /nonexistent.yaml: No such file"):
        model.load("/nonexistent.yaml")


@pytest.mark.parametrize("value", ["soon", "-5", "0"])
def test_power_timeout_must_be_a_positive_number_of_seconds(value):
    msg = error(NODES.replace("ip: 10.0.1.1,", "ip: 10.0.1.1, power_timeout: '%s'," % value))
    assert msg.startswith("pool.yaml:6: cluster.nodes[0].fencing[0].power_timeout: got ")
    assert "a number of seconds" in msg


def test_power_wait_must_be_a_number_of_seconds():
    msg = error(NODES.replace("ip: 10.0.1.1,", "ip: 10.0.1.1, power_wait: 2s,"))
    assert "cluster.nodes[0].fencing[0].power_wait: got '2s'" in msg


def test_pool_master_graces_default_to_the_agents_own_and_take_durations():
    """Unset, they are None: the agent's own defaults, which the generator leaves out."""
    assert model.loads(NODES)["pool"]["master"] == {
        "xapi_restart_grace": None,
        "isolation_grace": None,
    }
    text = NODES + "pool:\n  master: {xapi_restart_grace: 3m, isolation_grace: %s}\n"
    for given, seconds in (("30", 30), ("30s", 30), ("'45'", 45), ("2000ms", 2), ("1h", 3600)):
        master = model.loads(text % given)["pool"]["master"]
        assert master == {"xapi_restart_grace": 180, "isolation_grace": seconds}, given


@pytest.mark.parametrize("value", ["0", "'0s'", "-5", "20.5", "1500ms", "soon", "true", "[20]"])
def test_pool_master_graces_must_be_whole_seconds_above_0(value):
    """The agent reads them as integers above 0 (ocf.positive): refused here, with the line."""
    msg = error(NODES + "pool:\n  master:\n    isolation_grace: %s\n" % value)
    assert msg.startswith("pool.yaml:12: pool.master.isolation_grace: got ")
    assert msg.endswith(
        "; expected a duration of whole seconds above 0, such as 20s or 2m (or seconds as a number)"
    )


def test_pool_master_takes_only_the_graces():
    msg = error(NODES + "pool:\n  master: {grace: 10}\n")
    assert msg == (
        "pool.yaml:11: pool.master.grace: unknown key; expected one of: isolation_grace, "
        "xapi_restart_grace"
    )
