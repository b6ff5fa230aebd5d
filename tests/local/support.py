"""Helpers for the black-box tests: request bodies and timestamps a platform engineer would send."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import profile_body

TOKYO = ZoneInfo("Asia/Tokyo")


def new_account_id(prefix: str = "acct") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# A billing profile as the contract (docs/openapi.json) shows it: profile(payment_method, delivery_method, ...).
profile = profile_body


def recent_times(count: int) -> list[datetime]:
    """``count`` distinct, increasing moments in the past, all in the current Tokyo month.

    Reports must not be in the future, and keeping them inside one month lets a
    test read them back from one usage month.
    """
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    month_start = now.astimezone(TOKYO).replace(day=1, hour=0, minute=0, second=0)
    start = max(month_start, now - timedelta(hours=6))
    if (now - start).total_seconds() < count:  # the month began moments ago: use the previous one
        start, now = month_start - timedelta(hours=6), month_start - timedelta(seconds=1)
    step = (now - start) / count
    return [(start + step * (index + 1)).replace(microsecond=0).astimezone(TOKYO) for index in range(count)]


def month_of(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m")


def same_instant(text: str, moment: datetime) -> bool:
    return datetime.fromisoformat(text) == moment
