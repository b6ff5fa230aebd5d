"""Record-count bodies read without pydantic: the count function's plain path.

A cold start that imports pydantic and Powertools' validation costs more
than the DynamoDB client itself, and nearly every request to the count
function is a well-formed report. These functions accept only what
``CountIn``, ``BatchIn`` and ``BatchReportIn`` (``billing.schema.platform``)
accept, typed the same way, and answer ``None`` for anything else: the
typed models then judge it and word the 400. They never judge alone.
"""

from __future__ import annotations

import re
from datetime import datetime

from billing.schema.values import ACCOUNT_ID_PATTERN, MAX_BATCH, MAX_COUNT, aware_moment

_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)
_REPORT_FIELDS = frozenset({"count", "observed_at"})
_BATCH_REPORT_FIELDS = frozenset({"account_id", "count", "observed_at"})


def account_id(value: object) -> str | None:
    return value if type(value) is str and _ACCOUNT_ID.fullmatch(value) else None


def report(body: object) -> tuple[int, datetime] | None:
    """``(count, observed_at)`` of a ``CountIn`` body, or None."""
    if type(body) is not dict or body.keys() != _REPORT_FIELDS:
        return None
    return _reading(body)


def batch(body: object) -> list[tuple[str, int, datetime]] | None:
    """``(account_id, count, observed_at)`` of every report of a ``BatchIn`` body, or None if one is not well formed."""
    if type(body) is not dict or body.keys() != {"reports"}:
        return None
    reports = body["reports"]
    if type(reports) is not list or not 1 <= len(reports) <= MAX_BATCH:
        return None
    readings = []
    for item in reports:
        if type(item) is not dict or item.keys() != _BATCH_REPORT_FIELDS or account_id(item["account_id"]) is None:
            return None
        reading = _reading(item)
        if reading is None:
            return None
        readings.append((item["account_id"], *reading))
    return readings


def _reading(fields: dict) -> tuple[int, datetime] | None:
    count = fields["count"]
    if type(count) is not int or not 0 <= count <= MAX_COUNT:  # JSON true is a bool, never a count
        return None
    try:
        return count, aware_moment(fields["observed_at"])
    except ValueError:
        return None
