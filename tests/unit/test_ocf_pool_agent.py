"""xenha.pool_agent: the node-to-host map and XAPI times the agents rely on."""

import xmlrpc.client

import pytest

from xenha.pool_agent import parse_host_map, xapi_time


def test_host_map():
    assert parse_host_map("") == {}
    assert parse_host_map(" n1:host-a ; n2:9b3d7e1f-4c2a-4e8b-a5d6-7f1c3b9e2d33;") == {
        "n1": "host-a",
        "n2": "9b3d7e1f-4c2a-4e8b-a5d6-7f1c3b9e2d33",
    }


@pytest.mark.parametrize("text", ["n1", "n1:", ":h", "n1:a;n1:b"])
def test_bad_host_maps(text):
    with pytest.raises(ValueError):
        parse_host_map(text)


def test_xapi_times():
    assert xapi_time(xmlrpc.client.DateTime("20261121T22:10:05Z")) == 1795299005
    assert xapi_time("20261121T22:10:05Z") == 1795299005
    assert xapi_time(xmlrpc.client.DateTime("19700101T00:00:00Z")) is None  # xapi's "never"
    assert xapi_time("garbage") is None


def test_two_masters_are_ordered_only_if_their_fences_are_in_every_reading(monkeypatch):
    """A zoneless text history (Pacemaker 1.1) in a clock change's repeated hour: a fence
    at 02:30 may be before or after one at 02:10; the stale master is not guessed."""
    import types

    from xenha import ocf, pacemaker
    from xenha.deadline import Deadline
    from xenha.pool_agent import Pool

    readings = {}  # node -> (earliest, latest)

    def fenced_since(node, since, latest=False, **kw):
        return readings[node][1 if latest else 0]

    monkeypatch.setattr(pacemaker, "fenced_since", fenced_since)
    pool = types.SimpleNamespace(
        node=lambda: "a",
        node_of_host=lambda host: "b",
        describe=lambda host: host,
        res=types.SimpleNamespace(timeout=30, budget=Deadline(30)),
    )
    readings.update(a=(1000, 1000), b=(2000, 2000))
    assert Pool.stale_in_a_tie(pool, "host-b") is False  # b was fenced last: b is stale
    readings.update(a=(3000, 3000))
    assert Pool.stale_in_a_tie(pool, "host-b") is True
    readings.update(a=(1800, 5400), b=(600, 4200))  # 02:30 and 02:10, either hour
    with pytest.raises(ocf.OcfError, match="cannot be told apart"):
        Pool.stale_in_a_tie(pool, "host-b")
