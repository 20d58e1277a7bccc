"""Issue 13 item 1: the bus trusted whoever was on it. A government system now has a broker user of its own,
confined by RabbitMQ's permissions and topic permissions (devstack/bus_accounts.py) to `intake.submit_many`; the
`client` of its reports is its validated AMQP user_id. All against the real broker, with real intake and tracking
on the test's vhost: what is refused is refused by RabbitMQ itself (ACCESS_REFUSED), not by our code."""
import uuid
from urllib.parse import urlparse

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Producer, Queue
from nameko.standalone.rpc import ServiceRpcProxy

from clients.lapor_bus import LaporBus
from devstack import bus_accounts
from devstack.rabbit import Management
from services.common.errors import Forbidden, NotFound
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.factories import make_report
from tests.support.waiting import wait_for

PASSWORD = "gov-test-password"


@pytest.fixture
def stack(start_service, service_config):
    start_service(TrackingService)
    start_service(IntakeService)
    return service_config


@pytest.fixture
def government(stack):
    """government(name) → the AMQP URI of gov-<name>, confined on the test's vhost; deleted afterwards."""
    management, vhost = Management(amqp_uri=stack["AMQP_URI"]), bus_accounts.vhost_of(stack["AMQP_URI"])
    made = []

    def make(name=None):
        name = name or f"t{uuid.uuid4().hex[:10]}"
        made.append(bus_accounts.grant_government_system(management, vhost, name, PASSWORD))
        return bus_accounts.uri_for(stack["AMQP_URI"], made[-1], PASSWORD)

    yield make
    for user in made:
        management.delete_user(user)


def user_of(uri):
    return urlparse(uri).username


def refused(action):
    with pytest.raises(AccessRefused) as caught:
        action()
    return str(caught.value)


def test_a_government_system_submits_reports_over_the_bus(government, open_repo):
    with LaporBus(government("sipp" + uuid.uuid4().hex[:6])) as bus:
        [result] = bus.call("intake", "submit_many", [make_report(external_ref="SIPP-2026-0001")])

    assert result["index"] == 0 and result["status"] == "received"
    stored = open_repo(IntakeRepository, "lapor_intake").get_submission(result["tracking_id"])
    assert stored["channel"] == "rpc"


@pytest.mark.parametrize("service, method, args", [
    ("tracking", "report", ["10000004"]),
    ("tracking", "act", ["10000004", "archive", {"role": "national_admin", "username": "forged"}, {}]),
    ("intake", "contact", ["rep_0123"]),
    ("intake", "submit", [make_report()]),
], ids=["tracking.report", "tracking.act", "intake.contact", "intake.submit"])
def test_the_broker_refuses_a_government_system_any_other_rpc(government, service, method, args):
    with LaporBus(government()) as bus:
        message = refused(lambda: bus.call(service, method, *args))
    assert "ACCESS_REFUSED" in message and f"{service}.{method}" in message


def test_the_broker_refuses_a_government_system_publishing_an_event(government):
    uri = government()
    with Connection(uri) as connection:
        channel = connection.channel()
        producer = Producer(channel, exchange=Exchange("tracking.events", type="topic", durable=True, passive=True))
        message = refused(lambda: (producer.publish({"tracking_id": "10000004"}, routing_key="report_updated",
                                                    serializer="json", declare=[]), connection.drain_events(timeout=2)))
    assert "ACCESS_REFUSED" in message


@pytest.mark.parametrize("key", ["#", "tracking.report", "intake.*"])
def test_a_government_system_cannot_listen_to_other_callers_requests_or_answers(government, key):
    uri = government()
    with Connection(uri) as connection:
        channel = connection.channel()
        name = f"rpc.reply-{user_of(uri)}-{uuid.uuid4()}"  # its own queue: only the binding key is wrong
        queue = Queue(name, Exchange("nameko-rpc", type="topic", durable=True, passive=True), routing_key=key,
                      exclusive=True)
        message = refused(lambda: queue(channel).declare())
    assert "ACCESS_REFUSED" in message


def test_a_government_system_cannot_declare_or_delete_the_rpc_exchange(government):
    with Connection(government()) as connection:
        message = refused(lambda: Exchange("nameko-rpc", type="topic", durable=True)(connection.channel()).declare())
    assert "ACCESS_REFUSED" in message
    with Connection(government()) as connection:
        message = refused(lambda: Exchange("nameko-rpc", type="topic")(connection.channel()).delete())
    assert "ACCESS_REFUSED" in message


def test_a_government_system_cannot_read_another_s_answers_by_naming_it(government):
    own, other = government(), government()
    with Connection(own) as connection:
        queue = Queue(f"rpc.reply-{user_of(other)}-{uuid.uuid4()}",
                      Exchange("nameko-rpc", type="topic", durable=True, passive=True), routing_key=str(uuid.uuid4()))
        message = refused(lambda: queue(connection.channel()).declare())
    assert "ACCESS_REFUSED" in message


def test_a_government_system_s_client_is_its_broker_user_whatever_it_claims(government, open_repo):
    """Before: `client` was whatever the call said, so one system could replay another's external refs and get
    its reports' access codes back."""
    name = "sipp" + uuid.uuid4().hex[:6]
    with LaporBus(government(name)) as sipp:
        [ours] = sipp.call("intake", "submit_many", [make_report(external_ref="REF-1")])
    with LaporBus(government()) as other:
        [theirs] = other.call("intake", "submit_many", [make_report(external_ref="REF-1")], client=name)

    assert theirs["tracking_id"] != ours["tracking_id"] and theirs["access_code"] != ours["access_code"]
    assert open_repo(IntakeRepository, "lapor_intake").db.submissions.count_documents({}) == 2


def test_submit_many_without_a_validated_user_id_is_refused(stack, open_repo):
    with ServiceRpcProxy("intake", stack) as intake, pytest.raises(Forbidden) as caught:
        intake.submit_many([make_report(external_ref="REF-1")], client="sipp")

    assert "user_id" in str(caught.value)
    assert open_repo(IntakeRepository, "lapor_intake").db.submissions.count_documents({}) == 0


def _until_tracked(tracking, tracking_id):
    def tracked():
        try:
            return tracking.report(tracking_id, viewer={"role": "national_admin", "username": "admin"})
        except NotFound:
            return None
    return wait_for(tracked, message="tracking holds the report")


def test_an_api_key_named_like_a_bus_client_reads_none_of_its_reports(government, stack):
    """Issue 13 item 11: API keys and bus callers shared one namespace of client names, so an API key named `rpc`
    (intake's default client over the bus) or `sipp` (gov-sipp's) read the full contact of their anonymous,
    confidential submit_many reports. A key now reads back only what came in through the API channels."""
    name = "sipp" + uuid.uuid4().hex[:6]
    secret = dict(make_report(anonymous=True, confidential=True))
    with LaporBus(government(name)) as sipp:
        [by_gov] = sipp.call("intake", "submit_many", [dict(secret, external_ref="SIPP-1")])
    with service_proxy("intake", stack) as intake:  # a LAPOR service, naming no client: intake's `rpc`
        [by_default] = intake.submit_many([dict(secret, external_ref="RPC-1")])
        by_api = intake.submit(dict(secret), channel="api", client=name)
    with service_proxy("tracking", stack) as tracking:  # as the gateway asks for an API key of that name
        for receipt, key_name in ((by_gov, name), (by_default, "rpc")):
            _until_tracked(tracking, receipt["tracking_id"])
            with pytest.raises(NotFound):
                tracking.report(receipt["tracking_id"], viewer={"role": "api_client", "username": key_name})
        _until_tracked(tracking, by_api["tracking_id"])
        own = tracking.report(by_api["tracking_id"], viewer={"role": "api_client", "username": name})
    assert own["reporter"]["name"] == "Siti Aminah"  # its own API submission, as its reporter sees it
    with service_proxy("intake", stack) as intake, pytest.raises(Forbidden):  # nor attaches files to them
        intake.add_attachments(by_default["tracking_id"], [], {"role": "api_client", "username": "rpc"})
