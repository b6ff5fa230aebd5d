"""How dates, months and amounts read in Japanese: on the invoice, its notices and the pages.

Plain formatting with no knowledge of invoices, so every layer that shows one
of these (contracts' confirmation page, invoicing, delivery, the PDF) reads
them from here.
"""

from __future__ import annotations

from datetime import date

from billing import months


def jp_date(d: date) -> str:
    """2026年10月1日: how dates read on a Japanese invoice."""
    return f"{d.year}年{d.month}月{d.day}日"


def jp_month(month: str) -> str:
    """2026年9月: how a billing month reads."""
    first = months.first_day(month)
    return f"{first.year}年{first.month}月"


def yen(amount: int) -> str:
    """¥12,345 (negative: -¥1,000)."""
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


def jp_time(micros: int) -> str:
    """2026年12月3日 14:05: when something was observed, in Tokyo time."""
    moment = months.from_micros(micros).astimezone(months.TOKYO)
    return f"{jp_date(moment.date())} {moment:%H:%M}"
