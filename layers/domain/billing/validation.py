"""Small checks shared by every parser of untrusted JSON.

Each raises ``InvalidRequest`` with a message that names the field and says
what was expected, so a platform engineer can fix the call without guessing.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from billing import months
from billing.errors import InvalidRequest

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def require_object(body: object, fields: set[str], optional: set[str] = frozenset(), where: str = "body") -> dict:
    if not isinstance(body, dict):
        raise InvalidRequest(f"{where} must be a JSON object")
    missing = sorted(fields - body.keys())
    if missing:
        raise InvalidRequest(f"{where} is missing {', '.join(missing)}")
    extra = sorted(body.keys() - fields - optional)
    if extra:
        raise InvalidRequest(f"{where} has unknown field(s) {', '.join(extra)}")
    return body


def account_id(value: object) -> str:
    if not isinstance(value, str) or not ACCOUNT_ID.match(value):
        raise InvalidRequest("account_id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    return value


def integer(value: object, field: str, minimum: int, maximum: int) -> int:
    # bool is an int subclass in Python, but JSON true is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{field} must be an integer, got {_json_type(value)}")
    if not minimum <= value <= maximum:
        raise InvalidRequest(f"{field} must be between {minimum:,} and {maximum:,}, got {value}")
    return value


def text(value: object, field: str, pattern: re.Pattern | None = None, max_length: int = 200, hint: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{field} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidRequest(f"{field} must be at most {max_length} characters")
    if pattern is not None and not pattern.match(value):
        raise InvalidRequest(f"{field} must be {hint or 'well formed'}, got {value!r}")
    return value


def aware_timestamp(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be an ISO 8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{field} is not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRequest(f"{field} must carry a UTC offset such as +09:00 or Z: {value!r}")
    if not months.is_supported(moment):
        raise InvalidRequest(
            f"{field} must fall between {months.FIRST_YEAR + 1} and {months.LAST_YEAR - 1}, got {value!r}"
        )
    return moment


def iso_date(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(field, value)
    except ValueError:
        return _bad_date(field, value)


def one_of(value: object, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidRequest(f"{field} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _bad_date(field: str, value: str):
    raise InvalidRequest(f"{field} must be a date YYYY-MM-DD, got {value!r}")


def _json_type(value: object) -> str:
    return {
        bool: "a boolean",
        float: "a number with a fraction",
        str: "a string",
        type(None): "null",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
