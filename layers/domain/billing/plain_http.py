"""HTTP API requests read, and JSON answered, without Powertools' event handler or pydantic.

The count function's plain path (``functions/record_counts/app.py``; why, in
docs/architecture.md) answers a well-formed count report without building the
typed resolver (``billing.http``). What the two share lives here, once, so
the plain path has no edge of its own:

* ``dumps``: the text of every JSON answer; the typed resolver's serializer.
* ``answer``: an HTTP API (payload 2.0) JSON response. Its headers and cookies
  are serialized by Powertools' own ``HttpApiHeadersSerializer``, the one its
  resolver uses for an HTTP API.
* ``log_refusal``: the log line of every refused request.
* ``json_request``: a request whose JSON body the plain path reads exactly as
  the typed resolver would (``billing.schema.parsing.require_json`` and
  ``strict_json``, which the typed resolver uses too); ``None`` for any other,
  which is the typed resolver's to judge.
* ``path_parameters``: a route rule, written once as Powertools writes it
  (``/v1/accounts/<account_id>/record-counts``), matched against a path.
"""

from __future__ import annotations

import functools
import json
import re
from typing import NamedTuple

from aws_lambda_powertools.shared.headers_serializer import HttpApiHeadersSerializer

from billing.errors import BillingError
from billing.observability import logger
from billing.schema.parsing import require_json, strict_json

JSON = "application/json"
_HEADERS = HttpApiHeadersSerializer()


def dumps(body: object) -> str:
    """Compact JSON in UTF-8 (not ``\\u`` escapes): every JSON answer of the API."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def answer(status: int, body: object) -> dict:
    """An HTTP API (payload 2.0) response with a JSON body."""
    return {
        "statusCode": status,
        "body": dumps(body),
        "isBase64Encoded": False,
        **_HEADERS.serialize(headers={"Content-Type": JSON}, cookies=[]),
    }


def log_refusal(error: BillingError) -> None:
    logger.info("request refused", extra={"code": error.code, "reason": error.message})


def refused(error: BillingError) -> dict:
    """The answer to a request the domain refused: its status and ``{"error": {"code", "message"}}``."""
    log_refusal(error)
    return answer(error.status, error.as_json())


class JsonRequest(NamedTuple):
    path: str
    body: dict


def json_request(event: dict, method: str) -> JsonRequest | None:
    """The path and JSON body of a ``method`` request that the typed resolver would read the same way; else None.

    None for anything the typed resolver reads with more than this: a stage other than ``$default`` (its
    path starts with the stage), a base64-encoded body, a query string (refused there), a body that is not
    JSON in UTF-8 by its Content-Type, that is missing, or that ``strict_json`` refuses.
    """
    context = event.get("requestContext") or {}
    if context.get("stage") != "$default" or event.get("isBase64Encoded"):
        return None
    if (context.get("http") or {}).get("method") != method or event.get("queryStringParameters"):
        return None
    headers = event.get("headers") or {}
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "") or ""
    text = event.get("body")
    if not text:
        return None
    try:
        require_json(content_type)
        body = strict_json(text)
    except BillingError:
        return None
    return JsonRequest(event.get("rawPath") or "", body)


def path_parameters(rule: str, path: str) -> dict[str, str] | None:
    """The ``<name>`` parameters of ``rule`` in ``path``, matched whole (one path segment each); else None."""
    match = _pattern(rule).fullmatch(path)
    return None if match is None else match.groupdict()


@functools.cache
def _pattern(rule: str) -> re.Pattern:
    return re.compile(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", re.escape(rule)))
