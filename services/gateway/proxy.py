"""The client's address behind our own load balancers: X-Forwarded-For is believed only as far as it was written
by proxies we run (LAPOR_TRUSTED_PROXIES), so a client cannot dodge rate limits or the one-support rule by
sending the header itself."""
import ipaddress

from nameko.web.handlers import HttpRequestHandler

from services.gateway.access_log import keep_secrets_out_of_the_access_log


def parse_networks(text):
    """`10.0.0.0/8, 192.168.1.7` → [ip_network]; ValueError naming the entry that is not an address or network."""
    networks = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"LAPOR_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return networks


def client_address(peer, forwarded_for, trusted):
    """The address a trusted proxy says it received the request from, hop by hop from the right; the peer itself
    when it is not one of ours. A malformed entry ends the walk at the last address we could trust."""
    address = peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    while _is_trusted(address, trusted) and hops:
        candidate = hops.pop()
        if _parse(candidate) is None:
            break
        address = candidate
    return address


def _is_trusted(address, trusted):
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in trusted)


def _parse(address):
    try:
        return ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return None


class ProxiedHttp(HttpRequestHandler):
    """Nameko's HTTP entrypoint with the request's `remote_addr` set to the client's, behind trusted proxies."""

    def setup(self):
        self.trusted = parse_networks(self.container.config.get("TRUSTED_PROXIES"))
        keep_secrets_out_of_the_access_log()
        super().setup()

    def handle_request(self, request):
        if self.trusted:
            address = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), self.trusted)
            request.remote_addr = request.environ["REMOTE_ADDR"] = address
        return super().handle_request(request)


http = ProxiedHttp.decorator
