"""Turning untrusted text into values, or into the 400 that says what is wrong.

``strict_json`` refuses what ``json.loads`` lets through; ``invalid`` turns a
pydantic error into the contract's ``invalid_request``. No AWS and no
Powertools here, so the domain and its tests can use it alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from billing.errors import InvalidRequest

if TYPE_CHECKING:  # the count function's plain path parses JSON here without importing pydantic
    from pydantic import ValidationError


def body_type(content_type: str) -> str:
    """The media type a Content-Type header names, in lower case (RFC 9110: case-insensitive, parameters
    aside); ``InvalidRequest`` when it says the body is in a charset other than UTF-8, the only one read here."""
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    for name, _, value in (parameter.partition("=") for parameter in parameters):
        if name.strip() == "charset" and value.strip().strip('"') != "utf-8":
            raise InvalidRequest(f"the request body must be UTF-8, not {value.strip()}")
    return media_type


def require_json(content_type: str) -> None:
    """``InvalidRequest`` unless a Content-Type header names JSON in UTF-8, the only body the API reads.

    A body with no media type at all is refused too: it is not "JSON by default".
    """
    if body_type(content_type) != "application/json":
        given = f"got {content_type!r}" if content_type.strip() else "it has none"
        raise InvalidRequest(f"the request body must be JSON (Content-Type: application/json); {given}")


def strict_json(text: str) -> Any:
    """The body as JSON, or ``InvalidRequest`` saying what is wrong with it."""
    if not text:
        raise InvalidRequest("the request body must be a JSON object; it was empty")
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise InvalidRequest("the request body is nested too deeply") from None
    except ValueError as error:
        raise InvalidRequest(f"the request body is not valid JSON: {error}") from None
    if "\\" in text:  # only an escape can make a lone surrogate out of valid UTF-8
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest("the request body holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    if not isinstance(value, dict):  # every body of the API is an object (Powertools would take a list's items)
        raise InvalidRequest(f"the request body must be a JSON object, got {type(value).__name__}")
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice!r} is given twice")
    return body


def validation_message(errors: Iterable[dict], where: str = "") -> str:
    """``count: Input should be a valid integer; observed_at: Field required``: each field and what is wrong."""
    parts = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join(loc) or where or "body"
        if error.get("type") == "missing" and error.get("loc") == ("body",):
            parts.append("the request body must be a JSON object; it was empty")
            continue
        message = error.get("msg", "is not valid").removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return "; ".join(parts) or "the request is not valid"


def invalid(error: ValidationError, where: str = "") -> InvalidRequest:
    """A pydantic error from a payload validated by hand (a batch item, a message) as the 400 the API gives."""
    errors = [{**e, "loc": (where, *e["loc"]) if where else e["loc"]} for e in error.errors()]
    return InvalidRequest(validation_message(errors))
