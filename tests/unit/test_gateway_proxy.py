"""The client's address behind trusted proxies (services/gateway/proxy.py)."""
import ipaddress

import pytest

from services.gateway.proxy import client_address, parse_networks

OURS = parse_networks("10.0.0.0/8, 192.168.1.7, fd00::/8")


def test_the_setting_lists_addresses_and_networks_and_names_a_bad_entry():
    assert parse_networks("") == [] and parse_networks(None) == []
    assert parse_networks(" 10.0.0.0/8 ,192.168.1.7") == [ipaddress.ip_network("10.0.0.0/8"),
                                                          ipaddress.ip_network("192.168.1.7/32")]
    with pytest.raises(ValueError, match="'lb.internal'"):
        parse_networks("10.0.0.0/8, lb.internal")


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not our proxy: its header is the client's own words
    ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
    ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # what the client wrote itself stays ignored
    ("10.0.0.5", "198.51.100.1, 192.168.1.7", "198.51.100.1"),  # two of our hops
    ("10.0.0.5", "10.1.1.1, 192.168.1.7", "10.1.1.1"),  # only ours: the farthest one
    ("10.0.0.5", "not-an-ip, 192.168.1.7", "192.168.1.7"),  # malformed: stop at the last address we trust
    ("10.0.0.5", "", "10.0.0.5"),
    ("10.0.0.5", None, "10.0.0.5"),
    ("fd00::1", "2001:db8::7", "2001:db8::7"),
])
def test_the_client_is_the_first_address_from_the_right_that_is_not_ours(peer, forwarded, expected):
    assert client_address(peer, forwarded, OURS) == expected


def test_with_no_trusted_proxy_the_peer_is_the_client():
    assert client_address("10.0.0.5", "198.51.100.1", []) == "10.0.0.5"
