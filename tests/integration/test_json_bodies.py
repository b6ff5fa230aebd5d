"""Every route that takes a JSON body says so: a body without ``Content-Type: application/json`` is refused."""

from __future__ import annotations

import json

import boto3
import pytest

from local.template import Template
from tests.conftest import ROOT, LambdaContext, assert_documented, load_event
from tests.integration.conftest import TABLE, Api

# Every sample event of the API that carries a JSON body, by its route's function folder (from template.yaml).
_FOLDERS = {
    route.route_key: Template.load(ROOT / "template.yaml").function_properties(route.function)["CodeUri"]
    for route in Template.load(ROOT / "template.yaml").routes()
}
JSON_EVENTS = {
    path.name: _FOLDERS[event["routeKey"]].rstrip("/").rsplit("/", 1)[-1]
    for path in sorted((ROOT / "events").glob("*.json"))
    if isinstance(event := json.loads(path.read_text(encoding="utf-8")), dict)
    and event.get("body")
    and event.get("routeKey") in _FOLDERS
    and (event.get("headers") or {}).get("content-type") == "application/json"
}


def test_every_json_route_with_a_sample_body_is_tried():
    assert {"put_account.json", "record_count.json", "record_counts_batch.json", "request_change.json"} <= set(
        JSON_EVENTS
    )
    assert {"credit_note.json", "correct_invoice.json", "cancel_account.json", "approve_change.json"} <= set(
        JSON_EVENTS
    )


def _table() -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=TABLE)["Items"]


@pytest.mark.parametrize("content_type", [None, "", " ", "; charset=utf-8"], ids=["missing", "empty", "blank", "none"])
@pytest.mark.parametrize("event_file", list(JSON_EVENTS))
def test_a_body_without_a_json_content_type_is_400_and_changes_nothing(aws, event_file, content_type):
    # Given a route's sample request, its body intact, but no media type to say it is JSON
    api = Api(JSON_EVENTS[event_file])
    event = load_event(event_file)
    event["headers"] = {name: value for name, value in event["headers"].items() if name.lower() != "content-type"}
    if content_type is not None:
        event["headers"]["content-type"] = content_type
    before = _table()
    # When it is sent
    response = api.module.lambda_handler(event, LambdaContext())
    # Then it is refused as the contract says, naming what is missing, and nothing is written
    body = json.loads(response["body"])
    assert (response["statusCode"], body["error"]["code"]) == (400, "invalid_request"), body
    assert "application/json" in body["error"]["message"]
    assert_documented(event["routeKey"], 400, body)
    assert _table() == before
