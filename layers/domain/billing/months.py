"""Calendar months in Japan time, the unit every bill is made of.

A month key is a ``YYYY-MM`` string computed in Asia/Tokyo. Timestamps are
aware datetimes; internally they are compared as integer microseconds since
the epoch so that DynamoDB can compare them in a condition expression.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")  # ASCII digits: \d would take ２０２６
# The years the service bills in; anything outside is a typo, and far dates overflow datetime arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2998


def is_month(text: object) -> bool:
    match = isinstance(text, str) and _MONTH.fullmatch(text)
    return bool(match) and FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR


def is_supported(moment: datetime) -> bool:
    """Whether an aware moment falls in the years the service bills in."""
    return FIRST_YEAR < moment.year < LAST_YEAR  # a day's margin either side for any UTC offset


def month_of(moment: datetime) -> str:
    """The Asia/Tokyo calendar month a moment falls in."""
    return moment.astimezone(TOKYO).strftime("%Y-%m")


def day_of(moment: datetime) -> date:
    """The Asia/Tokyo calendar day a moment falls in."""
    return moment.astimezone(TOKYO).date()


def date_of(text: str) -> date:
    return date.fromisoformat(text)


def first_day(month: str) -> date:
    year, mon = (int(part) for part in month.split("-"))
    return date(year, mon, 1)


def last_day(month: str) -> date:
    return first_day(next_month(month)) - timedelta(days=1)


def month_start(month: str) -> datetime:
    """00:00 Asia/Tokyo on the month's 1st."""
    start = first_day(month)
    return datetime(start.year, start.month, 1, tzinfo=TOKYO)


def next_month(month: str) -> str:
    year, mon = (int(part) for part in month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, mon = (int(part) for part in month.split("-"))
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


def to_micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The moment back, shown in Japan time (the way customers read it)."""
    return (_EPOCH + timedelta(microseconds=int(micros))).astimezone(TOKYO)


def iso_tokyo(micros: int | None) -> str | None:
    return None if micros is None else from_micros(micros).isoformat()


def iso_now() -> str:
    return datetime.now(UTC).isoformat()
