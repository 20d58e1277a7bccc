"""Issue 13, low item: the Open311 discovery document names LAPOR's public address (LAPOR_PUBLIC_URL), never
whatever the client put in its Host header."""
import json

from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.gateway.service import GatewayService


def test_discovery_names_the_public_url_whatever_the_host_header_says():
    gateway = worker_factory(GatewayService, config={"PUBLIC_URL": "https://www.lapor.go.id/"})
    request = EnvironBuilder(path="/open311/v2/discovery.json", headers={"Host": "evil.example"}).get_request()
    response = gateway.open311_discovery(request, fmt="json")
    [endpoint] = json.loads(response.get_data(as_text=True))["endpoints"]
    assert response.status_code == 200
    assert endpoint["url"] == "https://www.lapor.go.id/open311/v2"
