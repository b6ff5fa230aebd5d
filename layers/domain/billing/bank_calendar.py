"""Bank business days and postal delivery days in Japan.

Due dates on an invoice must land on a day the banks are open: a transfer is
due by the end of the issue month (振込期限), moved earlier when that is a
holiday, and a direct debit is taken on the 27th (口座振替日), moved later.
Bank holidays are Saturdays, Sundays, national holidays (祝日, including
振替休日 and 国民の休日) and the banks' year-end closure, 12/31 to 1/3.

Postal letters are posted on the next business day after issue and arrive two
delivery days later; there is no delivery on Saturdays, Sundays, national
holidays or 1/1 to 1/3.

The ``holidays`` package is imported lazily, on the first date asked about,
so importing this module costs nothing. Still, the record-count path must
never import it: counts do not need dates of this kind.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from billing import months

DEBIT_DAY = 27  # 口座振替日: the 27th of the issue month
DELIVERY_DAYS = 2  # a letter arrives two delivery days after posting
_ONE_DAY = timedelta(days=1)


@functools.cache
def _national_holidays(year: int) -> frozenset[date]:
    import holidays  # lazy: a large table the count path never needs

    return frozenset(holidays.country_holidays("JP", years=year))


def is_national_holiday(d: date) -> bool:
    """A 祝日, 振替休日 or 国民の休日."""
    return d in _national_holidays(d.year)


def _is_new_year(d: date) -> bool:
    return d.month == 1 and d.day <= 3


def is_bank_holiday(d: date) -> bool:
    """Banks are closed: weekend, national holiday, or 12/31 to 1/3."""
    return d.weekday() >= 5 or (d.month == 12 and d.day == 31) or _is_new_year(d) or is_national_holiday(d)


def is_business_day(d: date) -> bool:
    return not is_bank_holiday(d)


def business_day_on_or_after(d: date) -> date:
    while is_bank_holiday(d):
        d += _ONE_DAY
    return d


def business_day_on_or_before(d: date) -> date:
    while is_bank_holiday(d):
        d -= _ONE_DAY
    return d


def next_business_day(d: date) -> date:
    """The first bank business day strictly after ``d``."""
    return business_day_on_or_after(d + _ONE_DAY)


def business_days_after(d: date, n: int) -> date:
    """The ``n``-th bank business day after ``d`` (``d`` itself is not counted)."""
    for _ in range(n):
        d = next_business_day(d)
    return d


def business_days_before(d: date, n: int) -> date:
    """The ``n``-th bank business day before ``d``."""
    for _ in range(n):
        d = business_day_on_or_before(d - _ONE_DAY)
    return d


def transfer_due_date(issue_date: date) -> date:
    """振込期限: the last day of the issue month, or the business day before it."""
    month_end = months.last_day(issue_date.strftime("%Y-%m"))
    return business_day_on_or_before(month_end)


def debit_date(issue_date: date) -> date:
    """口座振替日: the 27th of the issue month, or the next business day.

    That can fall in the following month (27-28 February on a weekend moves the
    debit to 1 March), as banks do it.
    """
    return business_day_on_or_after(issue_date.replace(day=DEBIT_DAY))


def is_debit_date(d: date) -> bool:
    """Whether ``d`` is some month's 口座振替日 (the 27th moved later can land in the next month)."""
    previous_month = (d.replace(day=1) - _ONE_DAY).replace(day=1)
    return d in (debit_date(d.replace(day=1)), debit_date(previous_month))


def debit_to_request(today: date, lead_business_days: int) -> date | None:
    """The debit date whose request file is due today: the one ``lead_business_days`` bank business days
    ahead, when that day is a 口座振替日 and today is a business day; else ``None``."""
    if is_bank_holiday(today):
        return None
    ahead = business_days_after(today, lead_business_days)
    return ahead if is_debit_date(ahead) else None


def is_delivery_day(d: date) -> bool:
    """Letters are delivered Monday to Friday, except national holidays and 1/1 to 1/3."""
    return d.weekday() < 5 and not _is_new_year(d) and not is_national_holiday(d)


def posting_date(issue_date: date) -> date:
    """Postal invoices are printed and posted on the next business day after issue."""
    return next_business_day(issue_date)


def estimated_arrival(posting: date) -> date:
    """The second delivery day after the posting date."""
    d, counted = posting, 0
    while counted < DELIVERY_DAYS:
        d += _ONE_DAY
        if is_delivery_day(d):
            counted += 1
    return d
