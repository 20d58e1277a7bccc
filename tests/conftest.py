"""Fixtures for every test layer: a temporary store on a free port, per-test databases, service config.

RabbitMQ comes from nameko's own fixtures (`rabbit_config`: a fresh vhost per test, never `/`);
`make test` makes sure the broker and its management API are up before pytest starts.
"""
import uuid

import pytest
from cryptography.fernet import Fernet

from devstack.store import StoreServer
from services.common.mongo import open_repository
from tests.support.proxy import free_port

TEST_SECRET_KEY = "test-secret-key-not-for-production"
TEST_PII_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    server = StoreServer(tmp_path_factory.mktemp("store"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def db_prefix():
    return f"t{uuid.uuid4().hex[:10]}_"


@pytest.fixture
def service_config(rabbit_config, store, db_prefix):
    return {
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "METRICS_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",  # the gateway's private /metrics listener
        "MONGO_URI": store.uri,
        "DB_PREFIX": db_prefix,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PII_KEY": TEST_PII_KEY,
        "RPC_TIMEOUT": 5,
        "ID_BLOCK_SIZE": 50,
        "PUBLIC_URL": "http://lapor.test",
        # A local run: a notification channel not named in NOTIFY_ADAPTERS may fall to the log adapter.
        "ENVIRONMENT": "local",
    }


@pytest.fixture
def open_repo(store, db_prefix):
    """open_repo(RepositoryClass, "lapor_<service>") → the repository on this test's database."""
    clients = []

    def open_(repository_cls, base_name):
        client, repository = open_repository(repository_cls, store.uri, base_name, db_prefix)
        clients.append(client)
        return repository

    yield open_
    for client in clients:
        client.close()


@pytest.fixture
def start_service(container_factory, service_config):
    """start_service(ServiceClass, **config overrides) → a started container on the real broker and store.

    Each gets its own web port: eventlet listens with SO_REUSEPORT, so containers sharing one would
    silently split each other's HTTP requests."""

    def start(service_cls, **overrides):
        config = dict(service_config, WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}",
                      METRICS_SERVER_ADDRESS=f"127.0.0.1:{free_port()}", **overrides)
        container = container_factory(service_cls, config)
        container.start()
        return container

    return start


@pytest.fixture
def start_gateway(start_service):
    """start_gateway(**config overrides) → the gateway's base URL and container, with intake and tracking up."""
    from services.gateway.service import GatewayService
    from services.intake.service import IntakeService
    from services.tracking.service import TrackingService
    for cls in (TrackingService, IntakeService):
        start_service(cls)

    def start(**overrides):
        gateway = start_service(GatewayService, **overrides)
        return f"http://{gateway.config['WEB_SERVER_ADDRESS']}", gateway

    return start
