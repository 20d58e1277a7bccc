"""Whose claims a service takes (services/common/caller.py): the broker user RabbitMQ vouched for decides, and a
refused claim leaves an audit entry. The real broker's part is in tests/security/test_service_claims.py."""
import pytest

from services.common.caller import (FORGED_CLAIM, CallerView, broker_user_of, claimant_users, stamp_broker_user)
from services.common.errors import Forbidden, ValidationFailed


@pytest.mark.parametrize("uri, user", [
    ("amqp://lapor-routing:s3cret@rabbit:5672/lapor", "lapor-routing"),
    ("amqp://gov%2Dsipp:pw@rabbit/", "gov-sipp"),
    ("amqp://lapor-sla:pw@rabbit-1:5672/;amqp://lapor-sla:pw@rabbit-2:5672/", "lapor-sla"),
    ("amqp://rabbit:5672/", "guest"),
    ("", "guest"),
    (None, "guest"),
])
def test_broker_user_of_reads_the_user_a_uri_connects_as(uri, user):
    assert broker_user_of(uri) == user


def test_each_service_as_its_own_user_trusts_the_claimants_under_the_same_prefix():
    assert claimant_users("lapor-tracking", "tracking", ("gateway", "routing")) == {"lapor-gateway", "lapor-routing"}
    assert claimant_users("t1a2-lapor-routing", "routing", ("gateway",)) == {"t1a2-lapor-gateway"}


@pytest.mark.parametrize("own_user", ["guest", "tracking", "lapor"])
def test_a_shared_user_stack_trusts_that_user_only(own_user):
    assert claimant_users(own_user, "tracking", ("gateway", "routing")) == {own_user}


class FakeRepository:
    def __init__(self):
        self.entries = []

    def insert_audit(self, entry):
        self.entries.append(entry)


def view(broker_user, trusted=frozenset({"lapor-gateway"})):
    repository = FakeRepository()
    return CallerView(broker_user, trusted, lambda: repository, "tracking", "act"), repository


def test_a_claim_from_a_trusted_publisher_is_taken_as_it_is_and_not_audited():
    caller, repository = view("lapor-gateway")
    claim = {"role": "national_admin", "username": "admin"}
    assert caller.vouch(claim) is claim
    assert caller.vouch(None) is None
    assert repository.entries == []


@pytest.mark.parametrize("broker_user", ["lapor-notifications", "gov-sipp", "guest", None])
def test_a_claim_from_anyone_else_is_refused_and_audited(broker_user):
    caller, repository = view(broker_user)
    with pytest.raises(Forbidden) as refused:
        caller.vouch({"role": "national_admin", "username": "forged"}, "viewer")
    assert refused.value.code == "forbidden" and "Klaim peran" in refused.value.message
    [entry] = repository.entries
    assert entry["action"] == FORGED_CLAIM and entry["outcome"] == "refused"
    assert entry["username"] == "forged" and entry["broker_user"] == broker_user and entry["service"] == "tracking"
    assert entry["details"] == {"claim": "viewer", "method": "act", "claimed_role": "national_admin"}


def test_no_claim_passes_from_anyone():
    caller, repository = view("gov-sipp")
    assert caller.vouch(None) is None and repository.entries == []


def test_require_refuses_a_caller_that_is_not_a_claimant():
    caller, repository = view("lapor-notifications", trusted=frozenset({"lapor-notifications"}))
    caller.require()
    assert repository.entries == []
    caller, repository = view("lapor-sla", trusted=frozenset({"lapor-notifications"}))
    with pytest.raises(Forbidden):
        caller.require()
    assert [entry["details"]["claim"] for entry in repository.entries] == ["caller"]


def test_audited_records_the_outcome_of_the_block():
    caller, repository = view("lapor-gateway")
    actor = {"role": "agency_officer", "username": "dinas", "agency_code": "KOTA-18.72"}
    with caller.audited("archive", actor, "10000004", {"note": "x"}):
        pass
    with pytest.raises(ValidationFailed):
        with caller.audited("archive", actor, "10000004"):
            raise ValidationFailed("tidak valid")
    with pytest.raises(RuntimeError):
        with caller.audited("archive", actor, "10000004"):
            raise RuntimeError("boom")
    assert [entry["outcome"] for entry in repository.entries] == ["ok", ValidationFailed.code, "error"]
    assert repository.entries[0]["agency_code"] == "KOTA-18.72" and repository.entries[0]["tracking_id"] == "10000004"


def test_a_stamped_proxy_publishes_with_the_uri_s_user():
    class Proxy:
        options = {}
    assert stamp_broker_user(Proxy(), "amqp://lapor-gateway:pw@rabbit/").options == {"user_id": "lapor-gateway"}
