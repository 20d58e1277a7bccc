"""Issue 12 item 7: every client writes with w=majority and a wtimeout; the URI, not the code, has the last word."""
from services.common.mongo import make_client


def test_writes_wait_for_a_majority_with_a_timeout():
    client = make_client("mongodb://127.0.0.1:1/")  # connects lazily: nothing needs to answer
    assert client.write_concern.document == {"w": "majority", "wtimeout": 5000}
    assert client.options.server_selection_timeout == 3.0
    client.close()


def test_the_uri_sets_timeouts_and_write_concern_over_the_defaults():
    client = make_client("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=700&wtimeoutMS=12000&connectTimeoutMS=900")
    assert client.options.server_selection_timeout == 0.7
    assert client.options.pool_options.connect_timeout == 0.9
    assert client.write_concern.document == {"w": "majority", "wtimeout": 12000}
    client.close()
