"""The OpenAPI document (GET /api/v1/openapi.json): every public route of GatewayService is in it with its methods,
nothing in it is not a route, and it is built from the services' own request schemas."""
import inspect
import re

import pytest
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from services.gateway import openapi, policy
from services.gateway.exceptions import MESSAGES
from services.gateway.service import GatewayService
from services.intake.schemas import SmsMessageSchema, SubmissionSchema
from services.tracking.schemas import FeedQuerySchema

PUBLIC_PREFIXES = ("/api/v1/", "/open311/v2/")
METHODS = ("get", "put", "post", "delete", "patch")
# A value for every `{parameter}` of a documented path, as a client would send it.
SAMPLE_VALUE = "10000004"


def http_routes(service_cls):
    """{(METHOD, werkzeug rule)} of every @http entrypoint of the class and its bases (nameko keeps them on the
    functions, in `nameko_entrypoints`)."""
    routes = set()
    for _, member in inspect.getmembers(service_cls, callable):
        for entrypoint in getattr(member, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                routes.update((method.strip().upper(), entrypoint.url) for method in entrypoint.method.split(","))
    return routes


def public_routes(service_cls):
    return {(method, url) for method, url in http_routes(service_cls) if url.startswith(PUBLIC_PREFIXES)}


def documented_operations(document):
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in METHODS}


def sample_url(path):
    return re.sub(r"\{[^}]+\}", SAMPLE_VALUE, path)


def route_of(routes, method, path):
    """The route (METHOD, rule) that serves a documented operation, as werkzeug would dispatch it; None if none."""
    adapter = Map([Rule(url, methods=[route_method], endpoint=(route_method, url))
                   for route_method, url in routes]).bind("lapor.test")
    try:
        endpoint, _ = adapter.match(sample_url(path), method=method)
    except (NotFound, MethodNotAllowed):
        return None
    return endpoint


def undocumented(routes, document):
    """Routes no documented operation reaches: each must be documented with each of its methods."""
    reached = {route_of(routes, method, path) for method, path in documented_operations(document)}
    return sorted(routes - reached)


@pytest.fixture(scope="module")
def document():
    return openapi.document()


def test_the_gateway_has_public_routes_to_check():
    routes = public_routes(GatewayService)
    assert ("POST", "/api/v1/reports") in routes
    assert ("GET", "/open311/v2/requests/<service_request_id>.<fmt>") in routes
    assert ("GET", "/health") in http_routes(GatewayService)  # seen, and left out as not part of the API
    assert not any(url.startswith(("/konsol", "/lacak", "/static")) for _, url in routes)


def test_every_public_route_is_documented_with_its_methods(document):
    assert undocumented(public_routes(GatewayService), document) == []


def test_a_route_added_without_documentation_is_caught(document):
    routes = public_routes(GatewayService) | {("GET", "/api/v1/reports/<tracking_id>/photos"),
                                              ("PUT", "/api/v1/calendar/days/<day>")}
    assert undocumented(routes, document) == [("GET", "/api/v1/reports/<tracking_id>/photos"),
                                              ("PUT", "/api/v1/calendar/days/<day>")]


def test_nothing_is_documented_that_is_not_a_route(document):
    routes = public_routes(GatewayService)
    phantoms = [(method, path) for method, path in documented_operations(document)
                if route_of(routes, method, path) is None]
    assert phantoms == []


def test_every_action_segment_of_the_policy_has_its_own_operation(document):
    segments = set(policy.OFFICER_ACTIONS) | set(policy.REPORTER_ACTIONS) | {"support", "access-code"}
    documented = {path.rsplit("/", 1)[1] for path in document["paths"]
                  if path.startswith("/api/v1/reports/{tracking_id}/") and "post" in document["paths"][path]}
    assert segments <= documented


def test_operations_are_named_tagged_and_secured_with_known_schemes(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert (schemes["accessCode"]["in"], schemes["accessCode"]["name"]) == ("header", "X-Access-Code")
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "X-API-Key")
    tags = {tag["name"] for tag in document["tags"]}
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert set(operation["tags"]) <= tags, (method, path)
            assert "security" in operation, (method, path)
            for requirement in operation["security"]:
                assert set(requirement) <= set(schemes), (method, path)
    assert len(operation_ids) == len(set(operation_ids))


def test_officer_routes_need_a_token_and_reporter_actions_the_access_code(document):
    paths = document["paths"]
    assert paths["/api/v1/inbox"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/reports/{tracking_id}/verify"]["post"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/reports/{tracking_id}/rating"]["post"]["security"] == [{"accessCode": []}]
    assert {"bearerAuth": []} in paths["/api/v1/reports/{tracking_id}/reopen"]["post"]["security"]
    assert {"accessCode": []} in paths["/api/v1/reports/{tracking_id}/reopen"]["post"]["security"]
    assert {} in paths["/api/v1/reports/{tracking_id}"]["get"]["security"]  # the public view


def test_every_ref_resolves(document):
    refs = re.findall(r'"\$ref": "#/([^"]+)"', openapi.document_json())
    for ref in set(refs):
        node = document
        for part in ref.split("/"):
            node = node[part]


def test_request_bodies_are_the_services_own_schemas(document):
    schemas = document["components"]["schemas"]
    submission = schemas["Submission"]
    assert set(submission["properties"]) == set(SubmissionSchema().fields)
    assert set(submission["required"]) == {"type", "title", "body", "anonymous", "confidential"}
    assert submission["additionalProperties"] is False  # unknown fields are refused
    assert set(schemas["SmsMessage"]["properties"]) == {"from", "text", "message_id", "received_at"}
    assert set(schemas["SmsMessage"]["properties"]) == {field.data_key or name
                                                         for name, field in SmsMessageSchema().fields.items()}
    body = document["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Submission"}


def test_the_feed_query_is_tracking_s_schema(document):
    parameters = document["paths"]["/api/v1/reports"]["get"]["parameters"]
    names = {parameter["name"] for parameter in parameters if parameter.get("in") == "query"}
    assert names == {field.data_key or name for name, field in FeedQuerySchema().fields.items()}


def test_errors_are_documented_in_the_envelope_with_every_code(document):
    responses = document["components"]["responses"]
    assert responses["RateLimited"]["headers"]["Retry-After"]["required"] is True
    error = document["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]["code"]["enum"]) == set(MESSAGES)
    assert document["paths"]["/api/v1/reports"]["post"]["responses"]["429"] == {
        "$ref": "#/components/responses/RateLimited"}
    assert document["paths"]["/open311/v2/requests.json"]["post"]["responses"]["403"] == {
        "$ref": "#/components/responses/Open311Forbidden"}


def test_the_document_is_built_once_and_served_as_json():
    assert openapi.document_json() is openapi.document_json()
    first = openapi.document()
    first["paths"].clear()
    assert openapi.document()["paths"]  # a caller's change does not reach the cached document
    answer = openapi.answer()
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.get_data(as_text=True) == openapi.document_json()
