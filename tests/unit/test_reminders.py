"""The reminder ladder: the 3rd, 10th and 20th bank business day after pay_by; the highest due, once each."""

from __future__ import annotations

from datetime import date

import pytest

from billing.bank_calendar import business_days_after
from billing.payments.ledger import Collection, Receivable, Reminder
from billing.payments.reminders import level_due

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
