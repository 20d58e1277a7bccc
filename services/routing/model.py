"""The learned half of triage: TF-IDF over a report's content stems and a logistic regression of its agency target.

Targets are what triage resolves with the region: 'local', 'province', or a national agency code
(`triage.target_of_agency`). Examples are the bundled corpus (data/training.jsonl) plus every disposition a
national admin makes; a model is trained off the event loop (the caller runs `train` in a thread) and stored
as joblib bytes with the scikit-learn version that made it: a model from another version is not loaded, and
the next scheduled run retrains it.
"""
import io
import time
from collections import Counter

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from services.routing.triage import TRAINING_FILE, read_jsonl

# A national admin's disposition says how authority is assigned today; the bundled corpus is only a start.
DISPOSITION_WEIGHT = 3.0
MIN_CLASSES = 2
# With a handful of examples per target the regression's probabilities are far too modest (measured: right 89%
# of the time when it says 0.25); a temperature fitted by cross-validation sharpens them to what they are worth.
TEMPERATURES = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
FOLDS = 5


class NotEnoughExamples(ValueError):
    pass


class TriageModel:
    """A fitted pipeline and what is known about it (version, when, from how many examples)."""

    def __init__(self, pipeline, temperature=1.0, version=None, trained_at=None, examples=0):
        self.pipeline = pipeline
        self.temperature = temperature
        self.version = version
        self.trained_at = trained_at
        self.examples = examples

    @property
    def classes(self):
        return [str(target) for target in self.pipeline.classes_]

    def probabilities(self, content_text):
        """{target: probability} for a report's content stems (space-joined)."""
        if not content_text.strip():
            return {}
        row = _sharpen(self.pipeline.predict_proba([content_text]), self.temperature)[0]
        return {str(target): float(p) for target, p in zip(self.pipeline.classes_, row)}


def _sharpen(probabilities, temperature):
    """Temperature scaling of predicted probabilities (rows sum to one again)."""
    scaled = np.power(np.clip(probabilities, 1e-12, 1.0), 1.0 / temperature)
    return scaled / scaled.sum(axis=1, keepdims=True)


def make_pipeline_():
    return make_pipeline(
        TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced"),
    )


def train(examples):
    """A TriageModel from [(content text, target, weight)]; CPU-heavy: run it off the event loop."""
    examples = [(text, target, weight) for text, target, weight in examples if text.strip() and target]
    if len({target for _, target, _ in examples}) < MIN_CLASSES:
        raise NotEnoughExamples(f"need examples of at least {MIN_CLASSES} agency targets")
    texts, targets, weights = (list(column) for column in zip(*examples))
    pipeline = make_pipeline_()
    pipeline.fit(texts, targets, logisticregression__sample_weight=weights)
    return TriageModel(pipeline, fitted_temperature(texts, targets, weights, pipeline.classes_), examples=len(examples))


def fitted_temperature(texts, targets, weights, classes):
    """The temperature with the least log-loss on held-out folds (1.0 when there are too few examples)."""
    if len(texts) < FOLDS * 4:
        return 1.0
    column = {target: index for index, target in enumerate(classes)}
    held_out = np.full((len(texts), len(classes)), 1e-12)
    for train_rows, test_rows in KFold(FOLDS, shuffle=True, random_state=0).split(texts):
        fold_targets = [targets[row] for row in train_rows]
        if len(set(fold_targets)) < MIN_CLASSES:
            return 1.0
        fold = make_pipeline_().fit([texts[row] for row in train_rows], fold_targets,
                                    logisticregression__sample_weight=[weights[row] for row in train_rows])
        predicted = fold.predict_proba([texts[row] for row in test_rows])
        for index, target in enumerate(fold.classes_):
            held_out[test_rows, column[target]] = predicted[:, index]
    truth = np.array([column[target] for target in targets])
    loss = {t: -np.log(_sharpen(held_out, t)[np.arange(len(truth)), truth]).mean() for t in TEMPERATURES}
    return min(loss, key=loss.get)


def dumps(model):
    buffer = io.BytesIO()
    joblib.dump({"pipeline": model.pipeline, "temperature": model.temperature}, buffer, compress=3)
    return buffer.getvalue()


def loads(blob, version=None, trained_at=None, examples=0):
    stored = joblib.load(io.BytesIO(blob))
    return TriageModel(stored["pipeline"], stored["temperature"], version=version, trained_at=trained_at,
                       examples=examples)


SKLEARN_VERSION = sklearn.__version__


def corpus_examples(engine, path=TRAINING_FILE):
    """The bundled corpus as training examples: (content text, target, weight 1)."""
    return [(engine.document(row).content_text, row["target"], 1.0) for row in read_jsonl(path)]


def training_set(engine, dispositions, corpus=None):
    """The bundled corpus and the admins' dispositions [{text, target}] together, dispositions weighing more."""
    corpus = corpus_examples(engine) if corpus is None else corpus
    learned = [(row["text"], row["target"], DISPOSITION_WEIGHT) for row in dispositions if row.get("target")]
    return corpus + learned


def fit_and_serialise(examples):
    """Train and serialise in one call, for `eventlet.tpool.execute`: {blob, classes, examples, seconds}."""
    started = time.perf_counter()
    model = train(examples)
    return {"blob": dumps(model), "classes": model.classes, "examples": model.examples,
            "temperature": model.temperature,
            "targets": dict(Counter(target for _, target, _ in examples)),
            "seconds": round(time.perf_counter() - started, 3)}
