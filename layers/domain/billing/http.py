"""What every HTTP function shares: a typed, validating resolver whose errors keep the contract.

* Bodies, path parameters and query strings are declared as types in
  ``billing.schema`` and validated by Powertools (``enable_validation``).
* The body is parsed by ``strict_json``, which refuses what ``json.loads``
  lets through: a key given twice, ``NaN``, a lone surrogate, a body nested
  beyond any payload.
* Every failure answers ``{"error": {"code", "message"}}``; the domain raises
  a ``BillingError`` and this module alone turns it into a response.
* A body that is not JSON, and a query parameter the route does not
  declare, are refused, not guessed at.
* Routes match the whole path. This and the JSON-only body need Powertools'
  private names: ``billing.powertools_overrides`` holds them, and says why.

Routes that answer HTML pages (the change confirmation page) use
``create_page_resolver`` instead: their body is a form, read strictly by
``form_value``, and every failure, bad input included, is a page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote_to_bytes

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import ValidationException
from pydantic import BaseModel

from billing.errors import BillingError, InvalidRequest, NotFound
from billing.observability import logger
from billing.plain_http import dumps, log_refusal
from billing.powertools_overrides import WholePathResolver, use_json_bodies_only
from billing.schema.parsing import body_type, strict_json, validation_message
from billing.schema.platform import ErrorOut


def error_response(error: BillingError) -> Response:
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON, body=dumps(error.as_json()))


def json_response(status: int, body: object) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=dumps(body))


def create_resolver() -> APIGatewayHttpResolver:
    app = WholePathResolver(serializer=dumps, enable_validation=True, json_body_deserializer=strict_json)

    @app.exception_handler(BillingError)
    def _billing_error(error: BillingError) -> Response:
        log_refusal(error)
        return error_response(error)

    @app.exception_handler(ValidationException)
    def _invalid(error: ValidationException) -> Response:
        if "unsupported_content_type" in {e.get("type") for e in error.errors()}:
            return _billing_error(InvalidRequest("the request body must be JSON (Content-Type: application/json)"))
        return _billing_error(InvalidRequest(validation_message(error.errors())))

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response:
        return _billing_error(InvalidRequest("the request body is not valid UTF-8"))

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_response(NotFound("no such resource"))

    use_json_bodies_only(app)  # a body must be JSON, refused before Powertools would parse a form or multipart
    app.use(middlewares=[_refuse_what_the_route_does_not_take])
    return app


def _refuse_what_the_route_does_not_take(app: APIGatewayHttpResolver, next_middleware: Callable) -> Response:
    """A query parameter that the route does not declare is a mistake the caller should hear about, and so is
    a query string whose %-escapes are not UTF-8 (the gateway's decoded parameters would hold U+FFFD)."""
    try:
        unquote_to_bytes(app.current_event.raw_query_string or "").decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the query string is not valid UTF-8") from None
    given = set(app.current_event.query_string_parameters or {})
    if given:
        route = app.context.get("_route")
        declared = {field.alias for field in route.dependant.query_params} if route else set()
        unknown = sorted(given - declared)
        if unknown:
            if not declared:
                raise InvalidRequest(f"this route takes no query parameters; got {', '.join(unknown)}")
            raise InvalidRequest(f"unknown query parameter(s) {', '.join(unknown)}; allowed: {', '.join(declared)}")
    return next_middleware(app)


# ------------------------------------------------------------ HTML pages

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
OCTET_STREAM = "application/octet-stream"


def create_page_resolver(error_page: Callable[[BillingError | None], Response]) -> APIGatewayHttpResolver:
    """A resolver for routes that answer HTML: no JSON parsing, and every failure is ``error_page``'s page.

    ``error_page(None)`` is the page for a failure of our own (logged with its traceback).
    Routes read their input with ``query_value`` and ``form_value``.
    """
    app = WholePathResolver(serializer=dumps)

    @app.exception_handler(BillingError)
    def _billing_error(error: BillingError) -> Response:
        log_refusal(error)
        return error_page(error)

    @app.exception_handler(Exception)
    def _failed(_: Exception) -> Response:
        logger.exception("page failed")
        return error_page(None)

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_page(NotFound("no such page"))

    return app


def query_value(app: APIGatewayHttpResolver, name: str) -> str:
    """The one value of ``name`` in the raw query string, which must hold nothing else."""
    return single_value(app.current_event.raw_query_string or "", name, "query string")


def form_value(app: APIGatewayHttpResolver, name: str) -> str:
    """The one value of ``name`` in an ``application/x-www-form-urlencoded`` UTF-8 body that holds nothing else."""
    try:
        text = _body_bytes(app, FORM_CONTENT_TYPE, "a form", "the form body is not valid UTF-8").decode("utf-8")
    except UnicodeError:
        raise InvalidRequest("the form body is not valid UTF-8") from None
    return single_value(text, name, "form")


def octet_body(app: APIGatewayHttpResolver, limit: int) -> bytes:
    """The raw bytes of an ``application/octet-stream`` body, at most ``limit`` of them."""
    raw = _body_bytes(app, OCTET_STREAM, "a file", "the request body is malformed")
    if not raw:
        raise InvalidRequest("the request body is empty")
    if len(raw) > limit:
        raise InvalidRequest(f"the request body is {len(raw)} bytes; at most {limit} are taken")
    return raw


def _body_bytes(app: APIGatewayHttpResolver, media_type: str, what: str, malformed: str) -> bytes:
    """The body's bytes, of ``media_type`` only; API Gateway may pass them base64-encoded."""
    event = app.current_event
    content_type = event.headers.get("content-type") or ""
    if body_type(content_type) != media_type:
        raise InvalidRequest(f"the request body must be {what} ({media_type}), got {content_type!r}")
    body = event.body or ""
    try:
        return base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode("utf-8")
    except (binascii.Error, UnicodeError):  # not base64, or text holding a lone surrogate
        raise InvalidRequest(malformed) from None


def single_value(encoded: str, name: str, where: str) -> str:
    """The one value of ``name`` in URL-encoded fields: never a second value, another field, or non-UTF-8."""
    try:
        fields = parse_qsl(
            encoded, keep_blank_values=True, strict_parsing=bool(encoded), errors="strict", max_num_fields=4
        )
    except ValueError:  # a field without '=', too many fields, or a %-escape that is not UTF-8
        raise InvalidRequest(f"the {where} is malformed") from None
    others = sorted({field for field, _ in fields} - {name})
    if others:
        raise InvalidRequest(f"the {where} takes only {name}; got {', '.join(others)}")
    values = [value for field, value in fields if field == name]
    if len(values) != 1:
        raise InvalidRequest(f"the {where} must give {name} exactly once (got it {len(values)} times)")
    return values[0]


# ------------------------------------------------------------ the published document


def documented(
    ok: type[BaseModel] | None,
    *errors: type[BillingError],
    status: int = 200,
    description: str = "",
    media_type: str | None = content_types.APPLICATION_JSON,
    headers: dict[str, str] | None = None,
    alternatives: dict[str, str] | None = None,
) -> dict:
    """The ``responses`` of a route: its success body and each error it may answer, for ``docs/openapi.json``.

    ``media_type=None`` is an answer without a body (a redirect); ``headers`` names the headers every success
    answer carries, each with what it holds; ``alternatives`` are other media types the route may answer
    instead of ``ok`` (a CSV download), each a string described.
    """
    success: dict = {"description": description or "OK"}
    if media_type is None:
        success["content"] = {}  # no body: tools/openapi.py drops the empty map Powertools would fill with JSON
    elif ok is not None:
        success["content"] = {media_type: {"model": ok}}
    elif media_type != content_types.APPLICATION_JSON:
        success["content"] = {media_type: {"schema": {"type": "string"}}}
    if alternatives:  # without ``ok``, a JSON answer of no documented schema, as Powertools would document it
        content = success.setdefault("content", {media_type: {}})
        for other, what in alternatives.items():
            content[other] = {"schema": {"type": "string", "description": what}}
    if headers:
        success["headers"] = {
            name: {"description": what, "required": True, "schema": {"type": "string"}}
            for name, what in headers.items()
        }
    responses: dict[int, dict] = {status: success}
    # Any route may answer 400 to bad input, and 404 to a path that routes nowhere (an id no route can take).
    for error in (InvalidRequest, NotFound, *errors):
        entry = responses.setdefault(
            error.status, {"description": "", "content": {"application/json": {"model": ErrorOut}}}
        )
        entry["description"] = " | ".join(filter(None, [entry["description"], f"`{error.code}`"]))
    return responses
