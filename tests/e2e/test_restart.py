"""Issue 12 item 3: a restart with data is an operator's normal day.

The same launcher and post-start steps as `make run` (prepare, its per-service bus users, seed_demo, the six
processes, after_start). Every process is killed while reports are in flight (clients retry with their
Idempotency-Key, as a real client does), then the stack starts again on the same store and broker: the backlog
and new reports are disposed, SLA clocks carry on (one running response clock per report), and no notification
is written twice."""
import uuid
from collections import Counter

import eventlet
import pytest
import requests
from cryptography.fernet import Fernet

from devstack import bus_accounts, launcher
from devstack.rabbit import Management
from services.common.mongo import open_repository
from services.notifications.storage import NotificationsRepository
from services.sla.storage import SlaRepository
from tests.support.proxy import free_port
from tests.support.waiting import wait_for

BEFORE, AFTER = 30, 10
KILL_AFTER_ACCEPTED = 12
RETRY_SECONDS = 150


def report(n):
    return {"type": "complaint", "title": f"Pohon tumbang nomor {n}",
            "body": f"Pohon tumbang menghalangi Jalan Pala Iringmulyo, kejadian nomor {n} minggu ini.",
            "anonymous": n % 3 == 0, "confidential": False, "agency_code": "KOTA-18.72",
            "location": {"region_code": "18.72"}, "reporter": {"phone": f"0812{n:08d}"}}


def submit_until_accepted(url, n, accepted):
    """POST with one Idempotency-Key until 201 (5xx and connection errors are retried), as a client would."""
    key = str(uuid.uuid4())
    deadline = eventlet.Timeout(RETRY_SECONDS)
    try:
        while True:
            try:
                response = requests.post(f"{url}/api/v1/reports", json=report(n), timeout=10,
                                         headers={"Idempotency-Key": key})
                if response.status_code == 201:
                    accepted[n] = response.json()["tracking_id"]
                    return
                assert response.status_code >= 500, response.text
            except requests.RequestException:
                pass
            eventlet.sleep(0.5)
    finally:
        deadline.cancel()


@pytest.fixture
def settings(store):
    management = Management()
    vhost = f"lapor_restart_{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    settings = launcher.StackSettings(
        amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}", mongo_uri=store.uri, secret_key="restart-secret",
        pii_key=Fernet.generate_key().decode(), ports={name: free_port() for name in launcher.SERVICES},
        db_prefix=f"rs{uuid.uuid4().hex[:6]}_",
        extra_env={"LAPOR_RATE_LIMIT_IP_PER_HOUR": "0", "LAPOR_DUPLICATE_SIMILARITY": "1.01", "LAPOR_RPC_TIMEOUT": "10"})
    # make run's broker users, each service its own; users are the broker's, not the vhost's, so a prefix of
    # this test's own keeps them apart from make run's lapor-<service> and from another run of this test
    users = launcher.use_service_users(settings, {name: uuid.uuid4().hex for name in launcher.SERVICES},
                                       prefix=f"{vhost}-lapor-", log=lambda message: None)
    assert len(users) == len(launcher.SERVICES)
    yield settings
    for user in users:
        management.delete_user(user)
    management.delete_vhost(vhost)


def start(settings, log_dir):
    """What `make run` does, in order, on whatever the store and broker already hold."""
    launcher.prepare(settings, log=lambda message: None)
    launcher.seed_demo(settings, "restart-demo-password", log=lambda message: None)
    processes = launcher.ProcessStack(settings, log_dir).start()
    try:
        launcher.wait_until_healthy(settings, timeout=120, process_alive=processes.all_alive)
    except RuntimeError:
        logs = "\n".join(f"--- {name}\n{processes.log_tail(name)}" for name in processes.processes)
        processes.stop()
        raise RuntimeError(f"the stack did not come up:\n{logs}")
    launcher.after_start(settings, log=lambda message: None)
    return processes


def test_killed_with_reports_in_flight_then_restarted_on_the_same_data(settings, tmp_path):
    first = start(settings, tmp_path / "logs-1")
    accepted = {}
    clients = [eventlet.spawn(submit_until_accepted, settings.gateway_url, n, accepted) for n in range(BEFORE)]
    try:
        wait_for(lambda: len(accepted) >= KILL_AFTER_ACCEPTED, timeout=60, message="the first reports accepted")
    finally:
        first.kill_all()  # kill -9 of every process, with requests and events still under way
    second = start(settings, tmp_path / "logs-2")
    try:
        clients += [eventlet.spawn(submit_until_accepted, settings.gateway_url, n, accepted)
                    for n in range(BEFORE, BEFORE + AFTER)]
        for client in clients:
            client.wait()
        assert len(accepted) == BEFORE + AFTER and len(set(accepted.values())) == BEFORE + AFTER

        def disposed_with_deadline():
            views = [requests.get(f"{settings.gateway_url}/api/v1/reports/{tracking_id}", timeout=10).json()
                     for tracking_id in accepted.values()]
            return all(v.get("status") == "disposed" and v.get("due_at") for v in views)

        wait_for(disposed_with_deadline, timeout=90, interval=1, message="every report disposed with its deadline")
        # every service on the bus as its own user, so routing's dispositions reached tracking by the
        # production claims rule (services/common/caller.py), not by a shared user's blanket trust
        vhost = bus_accounts.vhost_of(settings.amqp_uri)
        expected = {f"{vhost}-lapor-{name}" for name in launcher.SERVICES}
        seen = []
        try:  # each service has one LAPOR_AMQP_URI, so its own user connected means it is not on guest; guest
            # is this test process (after_start's RPC, its connection kept in kombu's pool)
            wait_for(lambda: seen.append(set(Management().connection_users(vhost))) or expected <= seen[-1],
                     timeout=30, message="each service connected as its own user")
        except AssertionError:
            assert expected <= seen[-1]
        assert_clocks_carry_on(settings, accepted.values())
        assert_no_notification_twice(settings, accepted.values())
    finally:
        second.stop()


def assert_clocks_carry_on(settings, tracking_ids):
    client, sla = open_repository(SlaRepository, settings.mongo_uri, "lapor_sla", settings.db_prefix)
    try:
        for tracking_id in tracking_ids:
            clocks = sla.clocks_of(tracking_id)
            running = [c["stage"] for c in clocks if c["state"] == "running"]
            assert running == ["response"], (tracking_id, [(c["stage"], c["state"]) for c in clocks])
    finally:
        client.close()


def assert_no_notification_twice(settings, tracking_ids):
    client, notifications = open_repository(NotificationsRepository, settings.mongo_uri, "lapor_notifications",
                                            settings.db_prefix)
    try:
        wanted = set(tracking_ids)
        messages = [m for m in notifications.db.messages.find({}) if m["tracking_id"] in wanted]
        per_kind = Counter((m["tracking_id"], m["audience"], m["channel"], m["template"]) for m in messages)
        assert messages and max(per_kind.values()) == 1, [key for key, count in per_kind.items() if count > 1]
        # Every report's agency heard of its disposition once.
        assert {m["tracking_id"] for m in messages if m["audience"] != "reporter"} == wanted
    finally:
        client.close()
