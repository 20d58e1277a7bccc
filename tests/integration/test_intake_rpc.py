"""Reports from other government systems over RPC, on the real broker and store: per-item results in a batch,
idempotency by the caller's external reference, the public HTTP body still refusing it."""
import pytest

from services.common.access_codes import normalize_access_code
from services.common.errors import IdempotencyConflict, ValidationFailed
from services.common.tracking_ids import is_valid_tracking_id
from services.intake.service import MAX_BATCH, IntakeService
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.factories import make_report
from tests.support.waiting import wait_for


@pytest.fixture
def intake(start_service, service_config):
    start_service(TrackingService)
    start_service(IntakeService)
    # submit_many needs the request's broker-validated user_id (services/common/caller.py): the tests' own user
    with service_proxy("intake", service_config) as proxy:
        yield proxy


@pytest.fixture
def intake_repo(open_repo):
    return open_repo(IntakeRepository, "lapor_intake")


def count(intake_repo):
    return intake_repo.db.submissions.count_documents({})


def test_a_batch_answers_per_item_and_bad_items_do_not_stop_the_good(intake, intake_repo, tracking_repo):
    reports = [
        make_report(external_ref="SIPP-2026-0001"),
        make_report(title=""),                                       # too short
        make_report(type="aspiration", title="Usulan taman kota baru"),
        dict(make_report(anonymous="yes"), extra=1),                 # not a bool, unknown field
        make_report(confidential=True),
    ]

    results = intake.submit_many(reports)

    assert [result["index"] for result in results] == [0, 1, 2, 3, 4]
    good = [results[0], results[2], results[4]]
    for result in good:
        assert set(result) == {"index", "tracking_id", "access_code", "status"} and result["status"] == "received"
        assert is_valid_tracking_id(result["tracking_id"]) and normalize_access_code(result["access_code"])
    assert len({result["tracking_id"] for result in good}) == 3
    assert results[1]["error"]["code"] == "validation_error" and set(results[1]["error"]["fields"]) == {"title"}
    assert set(results[3]["error"]["fields"]) == {"anonymous", "extra"}
    assert results[3]["error"]["fields"]["extra"] == [{"id": "Kolom ini tidak dikenal.", "en": "Unknown field."}]
    assert "tracking_id" not in results[1] and "tracking_id" not in results[3]

    assert count(intake_repo) == 3
    for result in good:
        stored = intake_repo.get_submission(result["tracking_id"])
        assert stored["channel"] == "rpc" and stored["event"]["channel"] == "rpc"
        assert "external_ref" not in str(stored)
    assert intake_repo.get_submission(results[4]["tracking_id"])["event"]["confidential"] is True
    wait_for(lambda: all(tracking_repo.get_report(result["tracking_id"]) for result in good), message="cases opened")


def test_the_same_external_ref_again_gives_the_same_result_and_another_body_a_conflict(intake, intake_repo):
    first = intake.submit_many([make_report(external_ref="SIPP-0001"), make_report(external_ref="SIPP-0002")])
    again = intake.submit_many([
        make_report(external_ref="SIPP-0002"),
        make_report(external_ref="SIPP-0001", title="Isi yang lain sama sekali"),
        make_report(external_ref="SIPP-0003"),
    ])

    assert again[0] == dict(first[1], index=0)
    assert again[1]["error"]["code"] == "idempotency_conflict" and "external_ref" in again[1]["error"]["message"]
    assert "tracking_id" in again[2]
    assert count(intake_repo) == 3


def test_external_refs_are_scoped_to_the_calling_system(intake, intake_repo):
    [ours] = intake.submit_many([make_report(external_ref="REF-1")], client="sipp")
    [theirs] = intake.submit_many([make_report(external_ref="REF-1")], client="simpeg")

    assert ours["tracking_id"] != theirs["tracking_id"]
    assert count(intake_repo) == 2


def test_submit_with_an_external_ref_shares_the_batch_idempotency(intake, intake_repo):
    single = intake.submit(make_report(), channel="rpc", client="sipp", external_ref="REF-9")
    [batched] = intake.submit_many([make_report(external_ref="REF-9")], client="sipp")

    assert batched == dict(single, index=0)
    assert intake_repo.get_submission(single["tracking_id"])["channel"] == "rpc"
    with pytest.raises(IdempotencyConflict):
        intake.submit(make_report(title="Laporan lain dengan isi yang lain"), channel="rpc", client="sipp",
                      external_ref="REF-9")
    assert count(intake_repo) == 1


def test_external_ref_belongs_to_the_call_not_the_report_body(intake, intake_repo):
    # What the public HTTP path sends intake.submit: an external_ref in the body is an unknown field there.
    with pytest.raises(ValidationFailed) as caught:
        intake.submit(make_report(external_ref="REF-1"))
    assert set(caught.value.fields) == {"external_ref"}

    with pytest.raises(ValidationFailed) as caught:
        intake.submit(make_report(title=""), channel="rpc", client="sipp", external_ref="x" * 129)
    assert set(caught.value.fields) == {"external_ref", "title"}
    assert count(intake_repo) == 0


@pytest.mark.parametrize("item, field", [
    (make_report(external_ref=""), "external_ref"),
    (make_report(external_ref="x" * 129), "external_ref"),
    (make_report(external_ref=42), "external_ref"),
    ("not a report", "_schema"),
])
def test_a_bad_external_ref_or_item_is_that_items_field_error(intake, intake_repo, item, field):
    [result] = intake.submit_many([item])

    assert result["index"] == 0 and result["error"]["code"] == "validation_error"
    assert field in result["error"]["fields"]
    assert count(intake_repo) == 0


def test_more_than_the_batch_limit_is_refused_whole(intake, intake_repo):
    with pytest.raises(ValidationFailed) as caught:
        intake.submit_many([make_report()] * (MAX_BATCH + 1))
    assert set(caught.value.fields) == {"reports"}
    with pytest.raises(ValidationFailed):
        intake.submit_many(make_report())
    assert count(intake_repo) == 0
    assert intake.submit_many([]) == []
