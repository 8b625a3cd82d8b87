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
