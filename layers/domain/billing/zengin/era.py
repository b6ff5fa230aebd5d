"""Dates as Zengin files write them: 和暦 YYMMDD in the 令和 era (R01 = 2019), the only era a file may carry."""

from __future__ import annotations

from datetime import date

from billing.zengin.records import BankFileError

REIWA_FIRST_YEAR = 2019
REIWA_FIRST_DAY = date(2019, 5, 1)


def reiwa_date(text: str, record: int, label: str) -> date:
    """``text`` (YYMMDD, 令和) as a date; ``BankFileError`` naming the record and field if it is none."""
    try:
        year, month, day = int(text[:2]), int(text[2:4]), int(text[4:6])
        found = date(REIWA_FIRST_YEAR - 1 + year, month, day)
    except ValueError:
        raise BankFileError(record, label, f"{text!r} is not a 令和 date (YYMMDD)") from None
    if year < 1 or found < REIWA_FIRST_DAY:
        raise BankFileError(record, label, f"{text!r} is before 令和 began (2019-05-01)")
    return found


def as_reiwa(day: date) -> str:
    """``day`` as YYMMDD in 令和."""
    if day < REIWA_FIRST_DAY:
        raise ValueError(f"{day} is before 令和 began")
    return f"{day.year - REIWA_FIRST_YEAR + 1:02d}{day:%m%d}"
