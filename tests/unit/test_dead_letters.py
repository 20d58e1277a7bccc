"""Parked events for operators, in isolation: what a list may show (no contact data, no secrets), what events carry,
the gateway's one page over several services, and the command's replay loop and audit."""
import io
import json
from unittest.mock import MagicMock

import pytest
from marshmallow import fields
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common import dead_letters
from services.common.events import SCHEMAS, now
from services.gateway import dead_events
from services.gateway.service import GatewayService
from tests.support.factories import make_submitted_event, make_updated_event

NATIONAL_ADMIN = {"role": "national_admin", "username": "nasional", "agency_code": None, "scope": None}
# What only intake may hold of a reporter (DESIGN §2).
CONTACT_FIELDS = {"name", "phone", "email", "handle", "contact", "contacts", "reporter", "msisdn", "recipient"}


def field_names(schema, prefix=""):
    names = set()
    for name, field in schema().fields.items():
        names.add(f"{prefix}{name}")
        if isinstance(field, fields.Nested):
            names |= field_names(type(field.schema), f"{prefix}{name}.")
    return names


@pytest.mark.parametrize("event_type", sorted(SCHEMAS))
def test_no_event_carries_contact_data_only_a_reporter_reference(event_type):
    names = field_names(SCHEMAS[event_type])
    leaves = {name.rsplit(".", 1)[-1] for name in names}
    # An officer's name travels as the actor of an entry; a reporter's never does (their actor is the role alone).
    assert leaves & CONTACT_FIELDS <= {"name"} and {n for n in names if n.endswith("name")} <= {
        "actor.name", "agency_name", "location.region_name", "content.location.region_name"}
    assert not {n for n in names if "reporter" in n} - {"reporter_ref"}


def test_a_listed_record_shows_no_contact_data_or_secret_even_when_the_payload_carried_them():
    payload = make_submitted_event(
        body="Hubungi saya di 0812-3456-7890, +62 812 3456 7890 atau siti.aminah@example.id",
        reporter={"name": "Siti Aminah", "phone": "081234567890"}, contact={"email": "siti@example.id"},
        access_code="7K2M-9QXD")
    record = {"_id": f"{payload['event_id']}:on_report_submitted", "event_id": payload["event_id"],
              "event_type": "report_submitted", "handler": "on_report_submitted", "payload": payload,
              "error": "ValueError: no route for siti@example.id / 081234567890", "attempts": 5, "parked_at": now(),
              "status": "parked", "replay_count": 0}
    view = dead_letters.dead_event_view("tracking", record)
    shown = json.dumps(view)
    for trace in ("Siti", "Aminah", "0812", "812 3456", "example.id", "7K2M-9QXD", payload["access_code_hash"]):
        assert trace not in shown, trace
    assert view["payload"]["reporter"] == view["payload"]["access_code_hash"] == dead_letters.HIDDEN
    assert view["payload"]["body"].startswith("Hubungi saya di [telepon], [telepon] atau [e-mail]")
    assert view["error"] == "ValueError: no route for [e-mail] / [telepon]"
    # Identifiers and the report's own content are left as they are.
    assert (view["payload"]["event_id"], view["payload"]["reporter_ref"], view["tracking_id"]) == (
        payload["event_id"], payload["reporter_ref"], "10000004")
    assert view["payload"]["title"] == payload["title"] and view["parked_at"] == record["parked_at"].isoformat()


def test_an_officer_name_in_an_entry_stays_and_an_invalid_payload_is_shown_redacted():
    updated = make_updated_event(actor={"role": "agency_officer", "agency_code": "KOTA-18.72", "name": "Budi"})
    assert dead_letters.redact(updated)["actor"]["name"] == "Budi"
    assert dead_letters.redact(["0812 3456 7890", {"email": "x@y.id"}]) == ["[telepon]", {"email": "[disembunyikan]"}]
    assert dead_letters.redact(None) is None


# --- the gateway's page over several services --------------------------------------------------------------

def request(method, path, **kwargs):
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


def fake_service(name, total):
    """dead_events over `total` records named name-0 … (newest first), sliced as the service would."""
    def answer(query, actor):
        ids = [f"{name}-{index}" for index in range(total)]
        return {"items": [{"id": i} for i in ids[query["skip"]:query["skip"] + query["limit"]]], "total": total}
    return answer


@pytest.mark.parametrize("page, expected", [
    (1, ["notifications-0", "notifications-1", "routing-0"]),
    (2, ["routing-1", "routing-2", "routing-3"]),
    (3, ["tracking-0", "tracking-1", "tracking-2"]),
    (4, ["tracking-3"]),
    (5, []),
])
def test_without_a_service_the_list_is_one_page_over_every_service_in_turn(page, expected):
    service = worker_factory(GatewayService)
    service.auth.principal.return_value = NATIONAL_ADMIN
    for name, total in (("notifications", 2), ("routing", 4), ("sla", 0), ("tracking", 4)):
        getattr(service, name).dead_events.side_effect = fake_service(name, total)
    response = service.list_dead_events(request("GET", "/api/v1/admin/dead-events",
                                                query_string={"page": str(page), "per_page": "3"}))
    body = json.loads(response.get_data())
    assert response.status_code == 200, body
    assert ([item["id"] for item in body["items"]], body["total"], body["page"]) == (expected, 10, page)


@pytest.mark.parametrize("role, status", [("agency_admin", 403), ("supervisor", 403), ("agency_officer", 403)])
def test_only_national_admins_reach_the_services(role, status):
    service = worker_factory(GatewayService)
    service.auth.principal.return_value = dict(NATIONAL_ADMIN, role=role)
    listed = service.list_dead_events(request("GET", "/api/v1/admin/dead-events"))
    replayed = service.replay_dead_events(request("POST", "/api/v1/admin/dead-events/tracking/replay",
                                                  json={"id": "x:y"}), "tracking")
    assert (listed.status_code, replayed.status_code) == (status, status)
    service.tracking.dead_events.assert_not_called()
    service.tracking.replay_dead_events.assert_not_called()
    [(args, _)] = service.auth.record.call_args_list  # the refused replay is audited
    assert args[1:4] == ("replay_dead_events", None, "forbidden")


def test_without_a_token_it_is_401_in_the_error_shape():
    service = worker_factory(GatewayService)
    service.auth.principal.return_value = None
    response = service.list_dead_events(request("GET", "/api/v1/admin/dead-events", headers={"Accept-Language": "en"}))
    assert response.status_code == 401
    assert json.loads(response.get_data())["error"]["code"] == "unauthorized"


# --- the command ---------------------------------------------------------------------------------------------

class FakeCluster:
    def __init__(self, answers):
        self.tracking = MagicMock()
        self.tracking.replay_dead_events.side_effect = answers

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def batch(outcomes, remaining):
    items = [{"id": f"e{index}:h", "outcome": outcome, "error": None} for index, outcome in enumerate(outcomes)]
    counts = {outcome: outcomes.count(outcome) for outcome in dead_letters.OUTCOMES}
    return {"service": "tracking", "items": items, "counts": counts, "remaining": remaining}


def test_until_done_calls_again_while_records_remain_and_progress_is_made_and_audits_each_call():
    cluster = FakeCluster([batch(["replayed", "replayed"], 3), batch(["replayed", "failed"], 1),
                           batch(["failed"], 1)])
    audited = []
    args = dead_events.parser().parse_args(["replay", "--service", "tracking", "--event-type", "report_updated",
                                            "--limit", "2", "--until-done"])
    out = io.StringIO()
    code = dead_events.replay_events(cluster, args, dead_events.cli_actor("operator"),
                                     lambda details, outcome: audited.append((details, outcome)), out)
    assert code == 1  # something is still failing
    assert cluster.tracking.replay_dead_events.call_count == 3
    [selector, actor] = cluster.tracking.replay_dead_events.call_args.args
    assert selector == {"event_type": "report_updated", "limit": 2}
    assert actor == {"username": "cli:operator", "role": "system", "agency_code": None, "name": None}
    assert [(details["counts"]["replayed"], outcome) for details, outcome in audited] == [
        (2, "ok"), (1, "ok"), (0, "ok")]
    assert "tracking: failed 1; 1 still parked" in out.getvalue()


def test_the_cli_never_prints_the_bus_or_store_password(capsys):
    """Under `make run` the CLI connects as lapor-gateway with that user's password in LAPOR_AMQP_URI; an error
    names the bus and the store without it."""
    def unreachable():
        raise OSError("connection refused")

    environ = {"LAPOR_AMQP_URI": "pyamqp://lapor-gateway:bus-s3cret@127.0.0.1:5672/",
               "LAPOR_MONGO_URI": "mongodb://lapor:store-s3cret@127.0.0.1:27017/"}
    assert dead_events.main(["list"], environ=environ, cluster_factory=unreachable, login="operator") == 1
    error = capsys.readouterr().err
    assert "the bus at pyamqp://lapor-gateway:**@127.0.0.1:5672/ does not answer" in error
    assert "s3cret" not in error
