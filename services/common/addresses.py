"""Client addresses as the limits count them (issue 13, "count IPv6 by /64"). No Nameko import.

An IPv6 subscriber is given a whole /64 (RFC 6177; Indonesian carriers hand phones a /64 each), and picks any
address in it at will, so a limit per IPv6 address limits nothing: the /64 is the one subscriber. An IPv4-mapped
IPv6 address (::ffff:203.0.113.7, what a dual-stack socket reports) is its IPv4 address.
"""
import ipaddress

IPV6_PREFIX = 64


def counted_address(address):
    """The key a per-address limit, support or wrong-code counter uses: an IPv4 address as itself, an IPv6 one as
    its /64 ("2001:db8:1:2::/64"), anything else (empty, not an address) as given, stripped."""
    text = str(address).strip() if address is not None else ""
    try:
        parsed = ipaddress.ip_address(text.split("%", 1)[0])  # a zone index (fe80::1%eth0) is no part of it
    except ValueError:
        return text
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed)
