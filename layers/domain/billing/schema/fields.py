"""Constrained scalar types shared by the payloads.

Patterns are matched whole (pydantic's regex engine has no trailing-newline
``$``) and spell digits ``[0-9]``, never ``\\d``, so fullwidth digits such as
``１００-０００５`` are refused everywhere. Values that a pattern cannot judge
(a 30th of February, a year the service does not bill in, a timestamp
without an offset) are checked by an ``AfterValidator`` that says why.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from billing import months
from billing.schema.values import (  # the checks that need no pydantic, re-exported where the types are
    ACCOUNT_ID_PATTERN,
    DATE_PATTERN,
    MAX_COUNT,
    TIMESTAMP_PATTERN,
    aware_moment,
)


class Payload(BaseModel):
    """A JSON object the API takes: every field typed, nothing extra, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Document(BaseModel):
    """A JSON object the API gives: it documents a response body, every key it may hold."""

    model_config = ConfigDict(extra="forbid")


def supported_month(value: str) -> str:
    if not months.is_month(value):
        raise ValueError(f"month must fall between {months.FIRST_YEAR} and {months.LAST_YEAR}")
    return value


def _calendar_date(value: object) -> date:
    if isinstance(value, date):  # built by our own code, e.g. a message
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date YYYY-MM-DD in ASCII digits")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a calendar date") from None
    if not months.FIRST_YEAR <= day.year <= months.LAST_YEAR:
        raise ValueError(f"date must fall between {months.FIRST_YEAR} and {months.LAST_YEAR}")
    return day


# What a name, an address or a token may hold: no control characters (C0 and C1, NUL included) and no
# bidirectional controls (an override such as U+202E makes the text shown differ from the text stored), and
# not blank: at least one character that is neither white space nor invisible (a zero-width space, a joiner,
# a BOM, a filler), so a qualified invoice never goes to a recipient whose name shows as nothing.
# Explicit ranges, not \p{Cf}: the pattern is published in docs/openapi.json and read by other regex engines.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
INVISIBLE_CHARACTERS = r"\s\u00ad\u115f\u1160\u180e\u200b-\u200d\u2060-\u2064\u206a-\u206f\u2800\u3164\ufeff\uffa0"
_PRINTABLE = rf"^[^{CONTROL_CHARACTERS}]*[^{CONTROL_CHARACTERS}{INVISIBLE_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"


def text(max_length: int, description: str = "") -> type[str]:
    """A non-blank string of at most ``max_length`` characters with no control characters."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length, pattern=_PRINTABLE),
        Field(description=description or None),
    ]


AccountId = Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)]


def _ascii_email(value: object) -> object:
    # SES sends to ASCII addresses only: a domain in its IDNA (punycode) form, a local part without SMTPUTF8.
    # Refused rather than converted: the address stored is the one mail goes to, and the customer sees it as such.
    if isinstance(value, str) and not value.isascii():
        raise ValueError(
            "must be ASCII, as mail is addressed: give a non-ASCII domain in its IDNA form "
            "(a@例え.jp is a@xn--r8jz45g.jp); the part before @ cannot hold other characters"
        )
    return value


_EMAIL_PART = r"[!-?A-~]+"  # printable ASCII but @: no space, control or invisible character
Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"),
    BeforeValidator(_ascii_email),  # after the constraints, so it runs first (and the pattern stays published)
    Field(description="ASCII only: a non-ASCII domain in its IDNA (punycode) form, xn--..."),
]
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
Month = Annotated[str, StringConstraints(pattern=MONTH_PATTERN), AfterValidator(supported_month)]
_DATE = re.compile(DATE_PATTERN)
# Parsed from a string and kept as a date or an aware datetime; published as a patterned string.
IsoDate = Annotated[
    date,
    BeforeValidator(_calendar_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN, "examples": ["2026-04-01"]}),
]
Timestamp = Annotated[
    datetime,
    BeforeValidator(aware_moment),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
            "examples": ["2026-11-25T10:00:00+09:00"],
        }
    ),
]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
CHANGE_REQUEST_ID_PATTERN = r"^[0-9a-f]{32}$"
ChangeRequestId = Annotated[str, StringConstraints(pattern=CHANGE_REQUEST_ID_PATTERN)]

DOCUMENT_NUMBER_PATTERN = r"^(INV|CN)-[0-9]{4}(0[1-9]|1[0-2])-[0-9]{7}$"
