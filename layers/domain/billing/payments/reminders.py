"""The reminder ladder (督促): which reminder a document is due on a day, in plain Python.

A document with a balance whose ``pay_by`` has passed is reminded in three steps, counted in bank business days
after ``pay_by``: level 1 (お支払いのお願い) from the 3rd, level 2 from the 10th, level 3 (最終のご案内) from the
20th. A run sends the highest level that is due and not yet sent, and never a lower one after a higher: a run
that missed days does not send the levels it skipped. Money that arrives first stops it (no balance, nothing
due), and a debit still being collected is not reminded.
"""

from __future__ import annotations

from datetime import date

from billing.bank_calendar import business_days_after
from billing.payments.ledger import Collection, Receivable

LADDER = ((3, 1), (10, 2), (20, 3))  # (bank business days after pay_by, level), lowest first
TITLES = {1: "お支払いのお願い", 2: "お支払いのお願い (再送)", 3: "最終のご案内"}


def level_due(document: Receivable, today: date) -> int | None:
    """The reminder to send ``document`` today, or None: the highest level due and above any sent."""
    if document.balance <= 0 or document.collection is Collection.COLLECTING:
        return None
    due = [level for days, level in LADDER if today >= business_days_after(document.pay_by, days)]
    if not due:
        return None
    sent = max((reminder.level for reminder in document.reminders), default=0)
    return due[-1] if due[-1] > sent else None
