"""The reminder ladder: the 3rd, 10th and 20th bank business day after pay_by; the highest due, once each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.bank_calendar import business_days_after
from billing.contracts.accounts import BillingContact
from billing.payments.ledger import Collection, Receivable, Reminder
from billing.payments.reminders import Claim, Debtor, ReminderPage, ReminderRun, level_due, pay_by_dates

PAY_BY = date(2026, 11, 30)  # a Monday


def owed(paid: int = 0, reminders: tuple[int, ...] = (), collection: Collection | None = None) -> Receivable:
    sent = tuple(Reminder(level, date(2026, 12, 1), "email") for level in reminders)
    return Receivable("INV-202610-0000001", 7_700, PAY_BY, paid, collection, reminders=sent)


@pytest.mark.parametrize(
    ("days_after", "sent", "expected"),
    [
        (2, (), None),  # not yet
        (3, (), 1),
        (9, (1,), None),  # level 1 sent, level 2 not due yet
        (10, (1,), 2),
        (19, (1, 2), None),
        (20, (1, 2), 3),
        (25, (1, 2, 3), None),  # the last one went: nothing more
        (20, (), 3),  # a run that missed days sends the highest due, never the ones it skipped
        (12, (3,), None),  # never a lower level after a higher
    ],
)
def test_the_highest_level_due_and_not_yet_sent(days_after, sent, expected):
    today = business_days_after(PAY_BY, days_after)
    assert level_due(owed(reminders=sent), today) == expected


def test_money_in_first_or_a_debit_in_collection_stops_it():
    late = business_days_after(PAY_BY, 20)
    assert level_due(owed(paid=7_700), late) is None  # paid: nothing owed
    assert level_due(owed(paid=7_000), late) == 3  # short by ¥700: still owed
    assert level_due(owed(collection=Collection.COLLECTING), late) is None  # a debit run is collecting it
    assert level_due(owed(collection=Collection.DEBIT_FAILED), late) == 3  # asked to transfer, and has not


def test_the_ladder_counts_bank_business_days_across_the_year_end():
    # 12/31-1/3 are bank holidays, and 2027-01-11 is 成人の日: pay_by Friday 2026-12-25
    pay_by = date(2026, 12, 25)
    document = Receivable("INV-202611-0000001", 7_700, pay_by)
    assert [business_days_after(pay_by, n) for n in (3, 10, 20)] == [
        date(2026, 12, 30),
        date(2027, 1, 13),
        date(2027, 1, 27),
    ]
    assert level_due(document, date(2026, 12, 29)) is None
    assert level_due(document, date(2027, 1, 4)) == 1  # nothing ran over the holidays: the next run sends it
    assert level_due(document, date(2027, 1, 12)) == 1
    assert level_due(document, date(2027, 1, 13)) == 2


def test_a_run_reads_the_pay_by_dates_whose_level_came_due_in_the_last_week():
    # On 2027-01-04 (the first business day of the year): level 1 of pay_by 12/25 (due 12/30), of 12/28 (due 1/4)
    dates = pay_by_dates(date(2027, 1, 4))
    assert {date(2026, 12, 25), date(2026, 12, 28)} <= set(dates)
    assert date(2026, 12, 29) not in dates  # its level 1 comes due on 1/5: not read yet
    assert all(d < date(2027, 1, 4) for d in dates)
    # Every pay_by whose level came due that day is among them (checked over a year of days)
    day = date(2026, 1, 1)
    while day < date(2027, 3, 1):
        for back in range(1, 60):
            pay_by = day - timedelta(days=back)
            if any(business_days_after(pay_by, n) == day for n in (3, 10, 20)):
                assert pay_by in pay_by_dates(day), (day, pay_by)
        day += timedelta(days=7)


class FakeStore:
    def __init__(self, documents):
        self.documents, self.claimed, self.marked = documents, {}, []

    def due_page(self, page):
        return self.documents, None

    def debtors(self, account_ids, today):
        contact = BillingContact("株式会社A", "100-0001", "東京都", "a@example.com", "03-0000-0000")
        return {a: Debtor(a, "1000000018", "web", contact) for a in account_ids}

    def claim(self, due, today):
        key = (due.document.number, due.level)
        if key in self.claimed:
            return Claim.UNSENT if self.claimed[key] == "unsent" else Claim.DONE
        self.claimed[key] = "unsent"
        return Claim.NEW

    def sent(self, due):
        self.claimed[(due.document.number, due.level)] = "sent"


def test_a_page_sends_each_due_reminder_once_and_announces_the_first_level():
    owing = Receivable("INV-202610-0000001", 7_700, PAY_BY)
    paid = Receivable("INV-202610-0000002", 7_700, PAY_BY, 7_700)
    store = FakeStore([("acme", owing), ("beta", paid)])
    sent, overdue = [], []
    run = ReminderRun(
        store, ["SHARD#00"], lambda pages: None, lambda d, t: sent.append(d), lambda d, t: overdue.append(d)
    )
    page = ReminderPage(business_days_after(PAY_BY, 3), PAY_BY, "SHARD#00")
    assert run.remind_page(page) == 1 and run.remind_page(page) == 0  # a page delivered twice sends once
    assert [(d.account_id, d.level, d.channel) for d in sent] == [("acme", 1, "email")]
    assert [d.document.number for d in overdue] == ["INV-202610-0000001"]


def test_a_reminder_that_could_not_be_sent_stays_unsent_and_goes_on_the_next_try():
    store = FakeStore([("acme", Receivable("INV-202610-0000001", 7_700, PAY_BY))])
    failures = iter([RuntimeError("SES said no")])

    def send(due, today):
        error = next(failures, None)
        if error:
            raise error

    run = ReminderRun(store, ["SHARD#00"], lambda pages: None, send, lambda d, t: None)
    page = ReminderPage(business_days_after(PAY_BY, 3), PAY_BY, "SHARD#00")
    assert run.remind_page(page) == 0  # refused: it stays unsent and holds up nothing
    assert store.claimed == {("INV-202610-0000001", 1): "unsent"}
    assert run.remind_page(page) == 1  # the next delivery (or the next day's run) sends it
    assert store.claimed == {("INV-202610-0000001", 1): "sent"}
