"""What every HTTP function shares: a resolver whose errors keep the contract.

Errors always answer ``{"error": {"code", "message"}}``; the domain raises a
``BillingError`` and this module alone turns it into a response.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from billing.errors import BillingError, InvalidRequest, NotFound
from billing.observability import logger


def _dumps(body: object) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def error_response(error: BillingError) -> Response:
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON, body=_dumps(error.as_json()))


def json_response(status: int, body: object) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=_dumps(body))


def create_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(serializer=_dumps)

    @app.exception_handler(BillingError)
    def _billing_error(error: BillingError) -> Response:
        logger.info("request refused", extra={"code": error.code, "reason": error.message})
        return error_response(error)

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_response(NotFound("no such resource"))

    return app


def parse_json_object(app: APIGatewayHttpResolver) -> object:
    """The request body as JSON, or a 400 that says what is wrong with it."""
    event = app.current_event
    raw = event.decoded_body if event.body is not None else None
    if not raw:
        raise InvalidRequest("the request body must be a JSON object; it was empty")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except ValueError as error:
        raise InvalidRequest(f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidRequest("the request body is nested too deeply") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
