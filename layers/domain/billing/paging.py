"""Page tokens for the operator's lists: the position after a page's last row, bound to the search it came from.

A token is base64url (no padding) of a compact JSON object: a version, the search's fingerprint and the position
(``<YYYY-MM-DD>#<id>``, the day the list is ordered by, then the row's id). A token that does not decode, that
another search gave, or whose day is outside the search's range is a bad request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date

from billing.errors import InvalidRequest

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,400}\Z")


def encode_token(fingerprint: str, after: str) -> str:
    body = json.dumps({"v": 1, "q": fingerprint, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode("ascii")


def decode_token(fingerprint: str, token: str, position: re.Pattern, first: date, last: date) -> str:
    """The position a token continues after (``position`` matches it, its first group a day within
    ``first``-``last``); ``InvalidRequest`` for anything this search did not give."""
    refused = InvalidRequest("next_token is not one this search gave: repeat the search without it")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise refused
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise refused from None
    if not isinstance(body, dict) or set(body) != {"v", "q", "after"} or body["v"] != 1:
        raise refused
    after = body["after"]
    match = position.fullmatch(after) if isinstance(after, str) else None
    if body["q"] != fingerprint or match is None:
        raise refused
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError:
        raise refused from None
    if not first <= day <= last:
        raise refused
    return after
