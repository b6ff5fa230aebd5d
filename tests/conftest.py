"""Shared test helpers: the template, function loading and Lambda context."""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import botocore.loaders
import botocore.session
import jsonschema
import pytest

from local.template import load_yaml

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.stacks"]  # the local stacks' fixtures, for tests/local and tests/local_stack

# One botocore data loader for the whole test process. moto gives every mock its own boto3 session, and each new
# session would parse the service models' JSON again (a tenth of a second for each integration test's resources
# and clients); the loader only reads bundled files, which never change during a run.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)

# Powertools reads its settings once, when billing.observability is first imported, and pytest imports every
# test module before it runs one: whichever module happens to import it first must find the Globals of
# template.yaml already set, or the whole session's metrics have no namespace.
for _name, _value in {"POWERTOOLS_SERVICE_NAME": "invoicing", "POWERTOOLS_METRICS_NAMESPACE": "Invoicing"}.items():
    os.environ.setdefault(_name, _value)


def load_template() -> dict:
    """template.yaml with CloudFormation tags in their long forms (the local stack's own reader); a fresh copy."""
    return copy.deepcopy(_parsed_template())


@functools.cache
def _parsed_template() -> dict:
    return load_yaml(ROOT / "template.yaml")


def load_function(folder: str) -> ModuleType:
    """Import functions/<folder>/app.py under its own module name (every function has an app.py)."""
    path = ROOT / "functions" / folder / "app.py"
    spec = importlib.util.spec_from_file_location(f"functions_{folder}_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text(encoding="utf-8"))


class LambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:test-function"
    aws_request_id = "test-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@functools.cache
def _openapi() -> dict:
    return json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))


def assert_documented(route_key: str, status: int, body: object) -> None:
    """A JSON answer is one its route documents in docs/openapi.json: the status, and a body its schema allows
    (the response models forbid keys they do not list, so nothing undocumented slips out)."""
    method, path = route_key.split(" ", 1)
    responses = _openapi()["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{route_key} answered {status}, which it does not document"
    schema = responses[str(status)].get("content", {}).get("application/json", {}).get("schema")
    assert schema is not None, f"{route_key} answered JSON with {status}, documented as another content type"
    jsonschema.Draft202012Validator({**schema, "components": _openapi()["components"]}).validate(body)


def assert_answer_documented(route_key: str, response: dict) -> None:
    """Any answer (a redirect, a download, JSON) is one its route documents: the status, the media type, or
    no body and no Content-Type where none is documented, and every header the document says it carries."""
    method, path = route_key.split(" ", 1)
    responses = _openapi()["paths"][path][method.lower()]["responses"]
    status = str(response["statusCode"])
    assert status in responses, f"{route_key} answered {status}, which it does not document"
    documented = responses[status]
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    content_type = headers.get("content-type")
    if "content" not in documented:
        assert not response.get("body") and content_type is None, f"{route_key} {status} is documented bodiless"
    else:
        assert content_type is not None, f"{route_key} {status} answered a body without a Content-Type"
        assert content_type.split(";")[0].strip() in documented["content"], f"{route_key} {status}: {content_type}"
        if content_type.startswith("application/json"):
            assert_documented(route_key, response["statusCode"], json.loads(response["body"]))
    for name, header in documented.get("headers", {}).items():
        if header.get("required"):
            assert name.lower() in headers, f"{route_key} {status} lacks its documented {name} header"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked ``slow`` run first. ``make test`` spreads the suite over both cores (pytest-xdist hands
    the first tests out one by one, in turn), so the long ones start at once, side by side, instead of leaving
    one core alone with them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
