"""The gateway builds API Gateway HTTP API payload 2.0 events and reads responses as API Gateway does."""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote

import pytest

from local.authorizers import IncomingRequest, NoAuth
from local.http_gateway import BoundRoute, function_reply, http_api_event
from local.template import Route

CONTEXT = {
    "account_id": "123456789012",
    "host": "127.0.0.1:3000",
    "port": 3000,
    "protocol": "HTTP/1.1",
    "source_ip": "127.0.0.1",
    "request_id": "abc=",
}


def bound(method: str, path: str) -> BoundRoute:
    return BoundRoute(Route("Api", method, path, "Fn", None), "apiid12345", NoAuth())


def event_for(route: BoundRoute, raw_path: str, query: str = "", headers=(), body: bytes = b"") -> dict:
    segments = [unquote(segment) for segment in raw_path.lstrip("/").split("/")]
    _, params = route.match("GET" if route.route.method == "ANY" else route.route.method, segments)
    request = IncomingRequest(route.route.method, raw_path, query, list(headers), body)
    return http_api_event(route, request, segments, params, None, CONTEXT)


def test_a_literal_segment_beats_a_parameter_and_a_method_beats_any():
    routes = [bound("GET", "/v1/{thing}/usage"), bound("GET", "/v1/accounts/usage"), bound("ANY", "/v1/accounts/usage")]
    segments = ["v1", "accounts", "usage"]
    best = min((route.match("GET", segments)[0], index) for index, route in enumerate(routes))
    assert best[1] == 1


def test_a_parameter_matches_exactly_one_segment_even_with_an_encoded_slash():
    route = bound("GET", "/v1/accounts/{account_id}")
    assert route.match("GET", ["v1", "accounts", "a/b"])[1] == {"account_id": "a/b"}
    assert route.match("GET", ["v1", "accounts", "a", "b"]) is None
    assert route.match("GET", ["v1", "accounts", ""]) is None
    assert route.match("POST", ["v1", "accounts", "x"]) is None


def test_the_event_has_the_payload_2_0_shape():
    route = bound("POST", "/v1/accounts/{account_id}/record-counts")
    event = event_for(
        route,
        "/v1/accounts/acme/record-counts",
        query="a=1&a=2&b=",
        headers=[("Content-Type", "application/json"), ("X-Multi", "1"), ("x-multi", "2"), ("Cookie", "s=1; t=2")],
        body=b'{"count": 1}',
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/accounts/{account_id}/record-counts"
    assert event["rawPath"] == "/v1/accounts/acme/record-counts"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["pathParameters"] == {"account_id": "acme"}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-multi"] == "1,2"
    assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]
    assert event["body"] == '{"count": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "$default" and context["routeKey"] == event["routeKey"]
    assert context["http"]["method"] == "POST" and context["http"]["path"] == event["rawPath"]
    assert context["apiId"] == "apiid12345" and isinstance(context["timeEpoch"], int)


def test_a_binary_body_is_base64_encoded():
    route = bound("POST", "/upload")
    event = event_for(route, "/upload", body=b"\xff\x00\xfe")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00\xfe"


def test_an_encoded_slash_stays_encoded_in_raw_path_so_routing_keeps_the_segment():
    event = event_for(bound("GET", "/v1/accounts/{account_id}"), "/v1/accounts/a%2Fb")
    assert event["rawPath"] == "/v1/accounts/a%2Fb"
    assert event["pathParameters"] == {"account_id": "a/b"}


def test_a_structured_response_becomes_http():
    reply = function_reply(
        {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "cookies": ["a=1"], "body": "{}"}
    )
    assert reply.status == 201
    assert ("Set-Cookie", "a=1") in reply.headers and reply.body == b"{}"
    binary = function_reply({"statusCode": 200, "body": base64.b64encode(b"%PDF").decode(), "isBase64Encoded": True})
    assert binary.body == b"%PDF"


def test_a_bare_value_is_a_200_json_body():
    reply = function_reply({"hello": "world"})
    assert reply.status == 200 and json.loads(reply.body) == {"hello": "world"}


@pytest.mark.parametrize("status", ["200", 99, 600, True])
def test_an_unusable_status_is_refused(status):
    with pytest.raises(ValueError):
        function_reply({"statusCode": status})
