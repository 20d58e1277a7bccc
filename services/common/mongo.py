"""The storage dependency: one pymongo client per container, one repository object per service.

A service's `storage.py` defines a repository class that takes a `Database`, owns its indexes
(`ensure_indexes`) and offers domain verbs; entrypoints never see a raw collection.
"""
import functools
import logging
import os
import re
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider
from pymongo import MongoClient, uri_parser
from pymongo.errors import PyMongoError

from services.common.errors import Unavailable
from services.common.ledger import EventLedger
from services.common.metrics import Metrics
from services.common.store_metrics import StoreOperations, StoreOperationsCollector

log = logging.getLogger(__name__)

SERVER_SELECTION_TIMEOUT_MS = 3000
UNPUBLISHED_GAUGE_CAP = 10_000
# nx-27017 stores a datetime written by `$set` on an existing document as this UTC string.
_STAND_IN_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def count_matching(collection, query):
    """How many documents match `query`. Not pymongo's `count_documents`: it groups on the constant 1, which
    nx-27017 evaluates document by document (6 s over 100k reports); a group on null it answers in SQL (20 ms),
    and real MongoDB treats both alike."""
    rows = list(collection.aggregate([{"$match": query}, {"$group": {"_id": None, "n": {"$sum": 1}}}]))
    return rows[0]["n"] if rows else 0


def is_time_field(key):
    """Our naming rule for timestamps: `at`, `*_at`, `*_until`."""
    return key == "at" or key.endswith("_at") or key.endswith("_until")


class StoreDocument(dict):
    """The document class for every read: restores timestamps the stand-in returns as strings.

    On a real MongoDB nothing matches and this is a plain dict. Range queries on such fields
    compare correctly on both (measured), so only the values read back need mending.
    """

    def __setitem__(self, key, value):
        if isinstance(value, str) and is_time_field(key) and _STAND_IN_DATETIME.match(value):
            value = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        super().__setitem__(key, value)


# What every client uses unless the URI says otherwise (the URI is the one place to tune them, e.g.
# `mongodb://a,b,c/?replicaSet=rs0&wtimeoutMS=10000`): a write is acknowledged only once a majority of the
# replica set holds it (DESIGN §9), and a majority that cannot be reached is an error after `wtimeoutMS`
# rather than a wait for ever.
CLIENT_DEFAULTS = {
    "serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS,
    "connectTimeoutMS": SERVER_SELECTION_TIMEOUT_MS,
    "w": "majority",
    "wtimeoutMS": 5000,
}


def client_options(uri):
    """CLIENT_DEFAULTS less whatever the URI sets itself: pymongo lets keyword arguments override the URI."""
    given = {key.lower() for key in uri_parser.parse_uri(uri)["options"]}
    return {key: value for key, value in CLIENT_DEFAULTS.items() if key.lower() not in given}


def make_client(uri, listeners=()):
    return MongoClient(uri, tz_aware=True, document_class=StoreDocument, event_listeners=list(listeners),
                       **client_options(uri))


def database_name(config, base_name):
    """`lapor_<service>`, optionally prefixed (config DB_PREFIX) so tests can share one store."""
    return f"{config.get('DB_PREFIX', '')}{base_name}"


def open_repository(repository_cls, uri, base_name, prefix=""):
    """A repository outside Nameko (seeding, tools, tests)."""
    client = make_client(uri)
    repository = repository_cls(client[f"{prefix}{base_name}"])
    repository.ensure_indexes()
    return client, repository


class MongoStore(DependencyProvider):
    def __init__(self, base_name, repository_cls):
        self.base_name = base_name
        self.repository_cls = repository_cls
        self.client = None
        self.repository = None

    def setup(self):
        config = self.container.config
        uri = config.get("MONGO_URI") or os.environ.get("LAPOR_MONGO_URI", "mongodb://127.0.0.1:27017")
        self.operations = StoreOperations()  # every command counted (services/common/store_metrics.py)
        self.client = make_client(uri, listeners=(self.operations,))
        self.repository = self.repository_cls(self.client[database_name(config, self.base_name)])
        self.repository.ensure_indexes()

    def start(self):
        """Every provider is set up by now: the counts go on the container's /metrics."""
        metrics = next((d for d in self.container.dependencies if isinstance(d, Metrics)), None)
        if metrics is not None:
            metrics.registry.register(StoreOperationsCollector(self.container.service_name, self.operations))

    def worker_setup(self, worker_ctx):
        self.operations.enter(worker_ctx.entrypoint)

    def worker_teardown(self, worker_ctx):
        self.operations.leave()

    def stop(self):
        if self.client is not None:
            self.client.close()

    def get_dependency(self, worker_ctx):
        return self.repository



def unavailable_on_store_error(func):
    """Turn a store failure into `Unavailable` so callers answer 503, not 500."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PyMongoError as exc:
            log.error("store error in %s: %s", func.__name__, exc)
            raise Unavailable("penyimpanan data tidak tersedia")

    return wrapper


class Repository(EventLedger):
    """Base of every service's repository: the database, a ping, and the event ledger's indexes."""

    def __init__(self, db):
        self.db = db

    def ensure_indexes(self):
        self.ensure_ledger_indexes()

    def ping(self):
        try:
            self.db.command("ping")
            return True
        except PyMongoError:
            return False
