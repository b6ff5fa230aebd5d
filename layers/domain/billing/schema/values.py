"""The checks behind the payload types that need no pydantic: patterns, limits and timestamps.

``billing.schema.fields`` builds its types from these, and the count
function's plain path (``billing.schema.count_reports``) uses them as they
are, so a count is judged by one rule wherever it arrives.
"""

from __future__ import annotations

import re
from datetime import datetime

from billing import months

MAX_COUNT = 1_000_000_000
MAX_BATCH = 100  # reports in one POST /v1/record-counts
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Seconds and a fraction are optional; the UTC offset is not (Z or ±HH:MM).
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9])$"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


def aware_moment(value: object) -> datetime:
    """An ISO 8601 timestamp with a UTC offset in a year the service bills, or ``ValueError`` saying why not."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise ValueError(
            "must be an ISO 8601 timestamp with a UTC offset (Z or +09:00), e.g. 2026-11-25T10:00:00+09:00"
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a valid ISO 8601 timestamp") from None
    if not months.is_supported(moment):
        raise ValueError(f"timestamp must fall between {months.FIRST_YEAR + 1} and {months.LAST_YEAR - 1}")
    return moment
