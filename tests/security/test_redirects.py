"""Issue 13 item 6 and the CR/LF low item: after sign-in the console goes only to a path of this site."""
import pytest
from werkzeug.test import EnvironBuilder

from services.gateway import web_session
from services.gateway.web_base import WebTools, _environment
from services.gateway.web_console import ConsolePages

SECRET = "unit-test-secret"
OFFICER = {"role": "national_admin", "username": "demo.admin", "name": "Demo", "agency_code": None,
           "agency_name": None, "scope": None}

# Each would leave the site once a browser reads it (browsers drop tabs and newlines, treat `\` as `/`).
ESCAPES = [
    "//evil.example", "//evil.example/konsol", "/\\evil.example", "\\\\evil.example", "https:evil.example",
    "https://evil.example/", "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    "\t//evil.example", " //evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
    "/%09/evil.example", "/%0d%0a/evil.example", "/%252F/evil.example", "/.\\evil.example",
    "/konsol\r\nSet-Cookie: a=b", "/\x00/evil.example", "/\u3000/evil.example", "/\x7f/evil.example",
]


@pytest.mark.parametrize("target", ESCAPES)
def test_no_target_leaves_the_site(target):
    assert web_session.safe_next(target) == "/konsol"


@pytest.mark.parametrize("target", [
    "/konsol", "/konsol/laporan/10000004", "/konsol?status=received&page=2", "/konsol/pengawasan#top",
    "/konsol?q=jalan%20rusak",
])
def test_a_path_of_this_site_is_kept(target):
    assert web_session.safe_next(target) == target


class _Console(ConsolePages):
    """The console's sign-in page with a signed-in officer and nothing else."""

    def __init__(self):
        self.pages = WebTools(SECRET, _environment(), {})
        self.auth = self

    def token_principal(self, token):
        return dict(OFFICER)


def _signed_in_visit(query):
    builder = EnvironBuilder(path="/masuk", query_string=query)
    builder.headers.add("Cookie", f"{web_session.SESSION_COOKIE}=a-token")
    return builder.get_request()


@pytest.mark.parametrize("query", [
    "next=/%09/evil.example", "next=//evil.example", "next=/%5Cevil.example", "next=https:evil.example",
    "next=/%252F%252Fevil.example", "next=/konsol%0d%0aSet-Cookie:%20a=b", "next=/%0a/evil.example",
])
def test_a_signed_in_officer_is_sent_home_not_away(query):
    response = _Console().login_page(_signed_in_visit(query))
    assert response.status_code == 303
    assert response.headers["Location"] == "/konsol"
