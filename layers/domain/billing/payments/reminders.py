"""The reminder ladder (督促): which reminder a document is due on a day, in plain Python.

A document with a balance whose ``pay_by`` has passed is reminded in three steps, counted in bank business days
after ``pay_by``: level 1 (お支払いのお願い) from the 3rd, level 2 from the 10th, level 3 (最終のご案内) from the
20th. A run sends the highest level that is due and not yet sent, and never a lower one after a higher: a run
that missed days does not send the levels it skipped. Money that arrives first stops it (no balance, nothing
due), and a debit still being collected is not reminded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from billing.bank_calendar import business_days_after
from billing.contracts.accounts import BillingContact
from billing.payments.ledger import Collection, Receivable

logger = logging.getLogger(__name__)

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


# ---------------------------------------------------------------- the daily run, fanned out like the close

LOOKBACK_DAYS = 7  # a run also sends what came due on the days a failed run missed, up to a week back


def pay_by_dates(today: date) -> list[date]:
    """The ``pay_by`` dates whose documents have a level come due in the last ``LOOKBACK_DAYS`` days up to
    ``today``: the dates a run reads. A level that came due longer ago was sent then (or is overtaken by the next)."""
    oldest = max(days for days, _ in LADDER) * 2 + LOOKBACK_DAYS + 14  # calendar days that cover 20 business days
    found = set()
    for back in range(1, oldest):
        pay_by = today - timedelta(days=back)
        for days, _ in LADDER:
            if today - timedelta(days=LOOKBACK_DAYS) < business_days_after(pay_by, days) <= today:
                found.add(pay_by)
    return sorted(found)


@dataclass(frozen=True)
class ReminderPage:
    """One page of one account shard's documents for the run of ``today``: from ``pay_by`` (one of the run's
    dates) on, where ``cursor`` left that date's documents."""

    today: date
    pay_by: date
    shard: str
    cursor: dict | None = None


@dataclass(frozen=True)
class Debtor:
    """Whom a reminder goes to, as the account stands today."""

    account_id: str
    customer_number: str
    delivery_method: str  # postal: a letter in the next print run
    contact: BillingContact


@dataclass(frozen=True)
class DueReminder:
    """A reminder to send: the document as it stands, its level, and whom to."""

    document: Receivable
    account_id: str
    level: int
    debtor: Debtor

    @property
    def channel(self) -> str:
        return "letter" if self.debtor.delivery_method == "postal" else "email"


class Claim(StrEnum):
    NEW = "new"  # recorded now: send it
    UNSENT = "unsent"  # recorded by an earlier try that did not finish sending: send it again
    DONE = "done"  # this level or a higher one went before


class ReminderStore(Protocol):
    def due_page(self, page: ReminderPage) -> tuple[list[tuple[str, Receivable]], dict | None]: ...
    def debtors(self, account_ids: Sequence[str], today: date) -> dict[str, Debtor]: ...
    def claim(self, due: DueReminder, today: date) -> Claim: ...
    def sent(self, due: DueReminder) -> None: ...


class ReminderRun:
    """The daily reminder run: ``start`` queues a page of every date and shard, ``remind_page`` sends a page's."""

    def __init__(
        self,
        store: ReminderStore,
        shards: Sequence[str],
        queue_pages: Callable[[list[ReminderPage]], None],
        send: Callable[[DueReminder, date], None],
        announce_overdue: Callable[[DueReminder, date], None],
    ):
        self.store, self.shards, self.queue_pages = store, shards, queue_pages
        self.send, self.announce_overdue = send, announce_overdue

    def start(self, today: date) -> int:
        """Queue the first page of every account shard; 0 when no ``pay_by`` date has anything come due."""
        dates = pay_by_dates(today)
        pages = [ReminderPage(today, dates[0], shard) for shard in self.shards] if dates else []
        self.queue_pages(pages)
        return len(pages)

    def remind_page(self, page: ReminderPage) -> int:
        """Send what one shard's documents are due today, from the page's ``pay_by`` date on, until a date's page
        is full (its next page is queued); the number sent (a retry sends what it had not)."""
        dates = [d for d in pay_by_dates(page.today) if d >= page.pay_by]
        sent = 0
        for pay_by in dates:
            cursor = page.cursor if pay_by == page.pay_by else None
            documents, cursor = self.store.due_page(ReminderPage(page.today, pay_by, page.shard, cursor))
            if cursor:  # the shard's next page first: a failure here holds up this page alone
                self.queue_pages([ReminderPage(page.today, pay_by, page.shard, cursor)])
            sent += self._remind(documents, page.today)
            if cursor:
                break
        return sent

    def _remind(self, documents: list[tuple[str, Receivable]], today: date) -> int:
        levels = {(a, d.number): level for a, d in documents if (level := level_due(d, today)) is not None}
        debtors = self.store.debtors(sorted({a for a, _ in levels}), today) if levels else {}
        sent = 0
        for account_id, document in documents:
            level = levels.get((account_id, document.number))
            if level is None or account_id not in debtors:
                continue
            due = DueReminder(document, account_id, level, debtors[account_id])
            if self.store.claim(due, today) is Claim.DONE:
                continue
            try:
                self.send(due, today)
            except Exception:  # one address SES refuses must not hold up the others: it stays unsent, tried again
                logger.exception("reminder not sent", extra={"account_id": account_id, "number": document.number})
                continue
            if level == 1:
                self.announce_overdue(due, today)
            self.store.sent(due)
            sent += 1
        return sent
