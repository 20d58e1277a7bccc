"""Tracking's action bodies and inbox query: one table of what is refused, with bilingual field errors."""
import pytest
from marshmallow import ValidationError

from services.common.field_errors import flatten_field_errors
from services.tracking.schemas import ACTION_SCHEMAS, InboxQuerySchema, TransitionSchema, ViewerSchema, entry_actor


@pytest.mark.parametrize("action, body, refused", [
    ("followup", {}, {"message"}),
    ("followup", {"message": "   "}, {"message"}),
    ("followup", {"message": "x" * 5001}, {"message"}),
    ("followup", {"message": "Ditangani", "version": "3"}, {"version"}),
    ("followup", {"message": "Ditangani", "agency_code": "X"}, {"agency_code"}),
    ("request_info", {"note": "salah kolom"}, {"message", "note"}),
    ("complete", {"note": ""}, {"note"}),
    ("archive", {}, {"note"}),
    ("reopen", {"reason": "ok"}, {"reason"}),
    ("reopen", {"reason": "x" * 2001}, {"reason"}),
    ("reply", {"message": None}, {"message"}),
    ("rate", {"score": 0}, {"score"}),
    ("rate", {"score": 6}, {"score"}),
    ("rate", {"score": 4.5}, {"score"}),
    ("rate", {"score": True}, {"score"}),
    ("rate", {"score": 5, "comment": "x" * 2001}, {"comment"}),
])
def test_an_invalid_body_names_every_bad_field(action, body, refused):
    with pytest.raises(ValidationError) as caught:
        ACTION_SCHEMAS[action]().load(body)
    fields = flatten_field_errors(caught.value.messages)
    assert set(fields) == refused
    assert all(set(message) == {"id", "en"} for messages in fields.values() for message in messages)


@pytest.mark.parametrize("action, body", [
    ("followup", {"message": "Tim menuju lokasi", "version": 3}),
    ("followup", {"message": "x" * 5000, "version": None}),
    ("complete", {"note": "Selesai"}),
    ("reopen", {"reason": "Belum tuntas"}),
    ("rate", {"score": 1}),
    ("rate", {"score": 5, "comment": ""}),
])
def test_a_valid_body_loads(action, body):
    loaded = ACTION_SCHEMAS[action]().load(body)
    assert loaded["version"] == body.get("version")


def test_the_inbox_query_reads_query_strings_within_limits():
    assert InboxQuerySchema().load({"page": "2", "per_page": "100"}) == {"page": 2, "per_page": 100}
    with pytest.raises(ValidationError) as caught:
        InboxQuerySchema().load({"per_page": "101", "status": "completed", "sort": "due_at"})
    assert set(caught.value.messages) == {"per_page", "status", "sort"}


def test_a_transition_keeps_the_officer_s_name_and_username_but_never_the_scope():
    change = TransitionSchema().load({"kind": "verified", "to_status": "verified", "expected_agency_scope": ["A"],
                                      "actor": {"role": "national_admin", "username": "admin", "name": "Admin",
                                                "scope": ["A"]}})
    assert change["actor"] == {"role": "national_admin", "username": "admin", "name": "Admin", "agency_code": None,
                               "agency_name": None}
    assert change["expected_agency_scope"] == ["A"]
    viewer = ViewerSchema().load({"role": "agency_officer", "scope": ["A", "A-1"]})
    assert viewer["scope"] == ["A", "A-1"] and "scope" not in entry_actor(viewer)
