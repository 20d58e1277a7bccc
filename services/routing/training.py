"""The triage model's training, in a process of its own: `python -m services.routing.training`.

Routing asks for a model by starting this module with the admins' dispositions on standard input (JSON) and
reads the fitted model back from standard output. Training never shares a process with the event loop: an
`eventlet.tpool` thread running scikit-learn's fit beside a monkey-patched loop met it on eventlet's green
locks (the per-module import locks that unpickling and scikit-learn's lazy imports take, and the logging
handlers' locks), raised `greenlet.error: Cannot switch to a different thread` in a hub timer and left the
lock held for good, which wedged every worker (issue 12). A separate, unpatched interpreter shares no lock.
"""
import base64
import json
import os
import sys

from services.routing import model as learned
from services.routing.triage import default_engine

# Exit statuses the caller tells apart: 3 means there is not enough to train on (an answer, not a failure).
NOT_ENOUGH_EXAMPLES = 3
# Below the services' priority: on two cores, a fit must not take the CPU from the event loops.
NICENESS = 10


def encode_request(dispositions):
    """What routing writes to the worker: only each disposition's text and target."""
    rows = [{"text": row.get("text") or "", "target": row.get("target")} for row in dispositions]
    return json.dumps({"dispositions": rows}).encode()


def decode_result(output):
    """fit_and_serialise's dict from the worker's standard output (the blob travels base64-encoded)."""
    fitted = json.loads(output)
    fitted["blob"] = base64.b64decode(fitted["blob"])
    return fitted


def run(request_bytes):
    dispositions = json.loads(request_bytes)["dispositions"]
    engine = default_engine()
    fitted = learned.fit_and_serialise(learned.training_set(engine, dispositions))
    fitted["blob"] = base64.b64encode(fitted["blob"]).decode()
    return json.dumps(fitted).encode()


def main():
    try:
        os.nice(NICENESS)
    except OSError:  # not allowed here: train at the same priority
        pass
    try:
        output = run(sys.stdin.buffer.read())
    except learned.NotEnoughExamples as exc:
        print(str(exc), file=sys.stderr)
        return NOT_ENOUGH_EXAMPLES
    sys.stdout.buffer.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
