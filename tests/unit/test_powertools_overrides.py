"""``billing.powertools_overrides`` reaches into Powertools' private code: an upgrade must fail here, loudly.

Each test names what to re-read. When Powertools is upgraded: read the new
version's code behind every name below, adjust the overrides (or drop one a
public option now covers), then set ``VERIFIED_WITH`` to the new version.
"""

from __future__ import annotations

import inspect
import json
import re
from importlib.metadata import version

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Route
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.shared.headers_serializer import HttpApiHeadersSerializer
from pydantic import BaseModel

from billing import powertools_overrides
from billing.errors import InvalidRequest
from billing.powertools_overrides import VERIFIED_WITH, WholePathResolver, use_json_bodies_only
from tests.conftest import ROOT, LambdaContext

UPGRADE = (
    "Powertools is not the version billing/powertools_overrides.py was read against: re-read the private code"
    " it overrides (its docstring lists it), then set VERIFIED_WITH"
)


def pinned_powertools() -> str:
    text = (ROOT / "layers" / "domain" / "requirements.txt").read_text()
    return re.search(r"^aws-lambda-powertools(?:\[[^\]]*\])?==(\S+)", text, re.MULTILINE).group(1)


def test_the_pinned_and_installed_powertools_are_the_version_the_overrides_were_read_against():
    assert pinned_powertools() == VERIFIED_WITH, UPGRADE
    assert version("aws-lambda-powertools") == VERIFIED_WITH, UPGRADE


# ---------------------------------------------------------------- WholePathResolver: _compile_regex


def test_routes_are_still_compiled_by_a_static_compile_regex_of_a_rule_and_a_base_pattern():
    assert isinstance(inspect.getattr_static(ApiGatewayResolver, "_compile_regex"), staticmethod)
    assert list(inspect.signature(ApiGatewayResolver._compile_regex).parameters) == ["rule", "base_regex"]
    assert "self._compile_regex(rule)" in inspect.getsource(ApiGatewayResolver.route), "routes compile elsewhere now"


def test_a_route_matches_the_whole_path_and_nothing_after_a_final_newline():
    pattern = WholePathResolver._compile_regex("/v1/accounts/<account_id>")
    assert pattern.match("/v1/accounts/acme").group("account_id") == "acme"
    assert pattern.match("/v1/accounts/acme\n") is None
    # What the override is for: Powertools' own pattern takes the path with its newline.
    assert APIGatewayHttpResolver._compile_regex("/v1/accounts/<account_id>").match("/v1/accounts/acme\n")


# ---------------------------------------------------------------- use_json_bodies_only: _get_body and the middleware


def test_request_validation_still_reads_the_body_through_get_body_and_parse_json_data():
    for name in ("_get_body", "_parse_json_data"):
        assert list(inspect.signature(getattr(OpenAPIRequestValidationMiddleware, name)).parameters) == ["self", "app"]
    assert "self._get_body(app)" in inspect.getsource(OpenAPIRequestValidationMiddleware.handler)


def test_the_resolver_still_runs_its_request_validation_middleware_first():
    made = APIGatewayHttpResolver(enable_validation=True)
    assert isinstance(made._request_validation_middleware, OpenAPIRequestValidationMiddleware)
    stack = inspect.getsource(Route._build_middleware_stack)
    first = stack.index("all_middlewares.append(app._request_validation_middleware)")
    assert first < stack.index("all_middlewares.extend(router_middlewares + self.middlewares)")


class Item(BaseModel):
    name: str


def posted(body: str, content_type: str) -> dict:
    return {
        "version": "2.0",
        "routeKey": "POST /items",
        "rawPath": "/items",
        "rawQueryString": "",
        "headers": {"content-type": content_type},
        "requestContext": {"http": {"method": "POST", "path": "/items"}, "stage": "$default"},
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def items() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    use_json_bodies_only(app)

    @app.post("/items")
    def add(item: Item):
        return {"name": item.name}

    return app


def test_a_json_body_is_read_and_anything_else_refused_before_powertools_parses_it(items):
    answer = items.resolve(posted('{"name": "a"}', "Application/JSON; charset=UTF-8"), LambdaContext())
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"name": "a"})
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        with pytest.raises(InvalidRequest, match="must be JSON"):
            items.resolve(posted("name=a", content_type), LambdaContext())


def test_a_resolver_that_validates_nothing_is_not_given_the_middleware():
    with pytest.raises(ValueError, match="enable_validation"):
        use_json_bodies_only(APIGatewayHttpResolver())


# ---------------------------------------------------------------- what billing.plain_http borrows (not an override)


def test_the_http_api_headers_serializer_still_gives_headers_and_cookies():
    serialized = HttpApiHeadersSerializer().serialize(headers={"Content-Type": "application/json"}, cookies=[])
    assert serialized == {"headers": {"Content-Type": "application/json"}, "cookies": []}


def test_the_module_says_why_for_each_override():
    doc = powertools_overrides.__doc__
    assert all(name in doc for name in ("_compile_regex", "_get_body", "_request_validation_middleware"))
