"""Late reports: counts for a month that has closed.

A report is late when its month is closed: the gate refused it as such
(``MonthClosed``), or it passed the gate just before the close shut it and
then found the month's usage frozen (closed between its two writes). A late
report is refused (409) but kept on its month's usage: never mixed into the
day highs, never billed by the close. A correction may bill it
(``MonthUsage.with_late_reports``).

Months close in order, so a month the gate calls closed is shut: its late
report is kept even before the close has frozen the month's usage. Until the
freeze names the month's invoice there is nothing to flag: the freeze reads
the report, and the close stores the invoice flagged by it. After, a late
report flags the invoice for correction (once) when the late reports' peak
falls in a higher bracket than the billed peak
(``MonthUsage.correction_suggested``).
"""

from __future__ import annotations

from billing.errors import BillingError, MonthClosed
from billing.usage.counts import MonthUsage


def refused_late(refusal: BillingError) -> bool:
    """Whether a report the gate refused is late (kept on its month); one outside the contract changes nothing."""
    return isinstance(refusal, MonthClosed)


def closed_meanwhile(usage: MonthUsage) -> bool:
    """Whether a report that passed the gate is late all the same: the month closed before its day high."""
    return usage.closed


def may_flag(invoice_number: str | None, flagged: bool) -> bool:
    """Whether a late report just kept may flag its month's invoice: once the freeze has named the invoice
    (``invoice_number``), and not again once flagged. Whether it does is ``MonthUsage.correction_suggested``."""
    return bool(invoice_number) and not flagged
