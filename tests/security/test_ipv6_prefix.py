"""Issue 13 (Low, "count IPv6 by /64"): an IPv6 subscriber holds a whole /64 and may use any address in it, so a
per-address limit, support or wrong-code counter keyed by the full address limited nothing."""
import pytest

from services.common.addresses import counted_address
from services.gateway import accounts, limits
from services.tracking import domain as tracking_domain

SECRET = "server-secret"
ONE_SUBSCRIBER = ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:DB8:1:2:0:0:0:abcd")
NEIGHBOUR = "2001:db8:1:3::1"


@pytest.mark.parametrize("address, counted", [
    ("203.0.113.7", "203.0.113.7"),
    (" 203.0.113.7 ", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("", ""),
    ("not an address", "not an address"),
])
def test_an_address_is_counted_by_itself_or_its_ipv6_64(address, counted):
    assert counted_address(address) == counted


@pytest.mark.parametrize("bucket", limits.ADDRESS_BUCKETS)
def test_one_ipv6_subscriber_has_one_counter_in_every_address_bucket(bucket):
    ids = {limits.counter_id(SECRET, bucket, address) for address in ONE_SUBSCRIBER}
    assert len(ids) == 1
    assert limits.counter_id(SECRET, bucket, NEIGHBOUR) not in ids
    assert limits.counter_id(SECRET, bucket, "::ffff:203.0.113.7") == limits.counter_id(SECRET, bucket, "203.0.113.7")


def test_sign_in_failures_supports_and_wrong_codes_count_the_64():
    assert len({accounts.address_key(address) for address in ONE_SUBSCRIBER}) == 1
    assert len({tracking_domain.supporter_key(SECRET, "10000004", address) for address in ONE_SUBSCRIBER}) == 1
    counters = {tuple(tracking_domain.access_failure_counters(SECRET, "10000004", address))
                for address in ONE_SUBSCRIBER}
    assert len(counters) == 1
    assert tracking_domain.supporter_key(SECRET, "10000004", NEIGHBOUR) != \
        tracking_domain.supporter_key(SECRET, "10000004", ONE_SUBSCRIBER[0])


def test_the_api_key_and_phone_buckets_are_not_taken_for_addresses():
    assert limits.canonical_key(limits.API_KEY, "2001:db8:1:2::1") == "2001:db8:1:2::1"
    assert limits.canonical_key(limits.PHONE, "+62 812-3456-7890") == "81234567890"
