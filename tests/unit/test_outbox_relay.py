"""The relay loop all outboxes share: claim, publish, mark; stop when the broker is away."""
from services.common.outbox import relay_unpublished


def run(documents, fail_on=None, skip=lambda document: False):
    pending = list(documents)
    published, marked = [], []

    def publish(document):
        if document["_id"] == fail_on:
            raise ConnectionError("broker away")
        published.append(document["_id"])

    finished = relay_unpublished(
        claim=lambda: pending.pop(0) if pending else None,
        publish=publish,
        mark_published=lambda document: marked.append(document["_id"]),
        skip=skip,
        batch=10,
    )
    return finished, published, marked, pending


def test_publishes_and_marks_everything_claimed():
    assert run([{"_id": "a"}, {"_id": "b"}]) == (True, ["a", "b"], ["a", "b"], [])


def test_stops_at_the_first_failed_publish_and_marks_nothing_it_did_not_send():
    finished, published, marked, pending = run([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}], fail_on="b")
    assert (finished, published, marked) == (False, ["a"], ["a"])
    assert [d["_id"] for d in pending] == ["c"]  # left for a later run


def test_skipped_documents_are_neither_published_nor_marked():
    finished, published, marked, _ = run([{"_id": "a"}, {"_id": "b"}], skip=lambda d: d["_id"] == "a")
    assert (finished, published, marked) == (True, ["b"], ["b"])


def test_one_run_takes_at_most_a_batch():
    finished, published, _, pending = run([{"_id": str(n)} for n in range(15)])
    assert finished and len(published) == 10 and len(pending) == 5
