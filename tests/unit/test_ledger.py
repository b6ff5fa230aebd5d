"""The payment ledger's rules: balance, status, overdue, and money spread oldest pay_by first."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.payments.ledger import (
    Collection,
    Payment,
    PaymentStatus,
    Receivable,
    allocate,
    carried_over,
    lowered_by_return,
)

DUE = date(2026, 11, 30)


def document(number="INV-202610-0000001", due=12_100, paid=0, pay_by=DUE, collection=None) -> Receivable:
    return Receivable(number, amount_due=due, pay_by=pay_by, paid_amount=paid, collection=collection)


def pay(amount: int) -> Payment:
    return Payment("pay-1", date(2026, 11, 20), amount, "bank_transfer")


@pytest.mark.parametrize(
    ("paid", "collection", "status", "balance"),
    [
        (0, None, PaymentStatus.UNPAID, 12_100),
        (12_000, None, PaymentStatus.PARTIALLY_PAID, 100),
        (12_100, None, PaymentStatus.PAID, 0),
        (0, Collection.COLLECTING, PaymentStatus.COLLECTING, 12_100),
        (0, Collection.DEBIT_FAILED, PaymentStatus.DEBIT_FAILED, 12_100),
        (12_100, Collection.DEBIT_FAILED, PaymentStatus.PAID, 0),
    ],
)
def test_the_status_follows_the_balance_and_the_debit(paid, collection, status, balance):
    receivable = document(paid=paid, collection=collection)
    assert (receivable.status, receivable.balance) == (status, balance)


def test_a_document_returned_in_full_is_paid_and_never_overdue():
    receivable = document(due=0)
    assert receivable.status is PaymentStatus.PAID and not receivable.overdue(date(2027, 3, 1))


def test_overdue_is_a_balance_after_pay_by_in_tokyo():
    assert not document().overdue(DUE)
    assert document().overdue(date(2026, 12, 1))
    assert not document(paid=12_100).overdue(date(2026, 12, 1))


@pytest.mark.parametrize(
    ("receivable", "today", "label"),
    [
        (document(), DUE, "未入金"),
        (document(), date(2026, 12, 1), "お支払期限超過"),
        (document(paid=100), DUE, "一部入金"),
        (document(paid=12_100), date(2027, 1, 1), "入金済"),
        (document(collection=Collection.DEBIT_FAILED), DUE, "口座振替不能"),
        (document(collection=Collection.COLLECTING), date(2026, 12, 1), "未入金"),
    ],
)
def test_the_customer_reads_the_state_in_japanese(receivable, today, label):
    assert receivable.label(today) == label


def test_a_payment_that_fills_the_balance_ends_a_failed_debit():
    paid = document(collection=Collection.DEBIT_FAILED).paid(pay(12_100))
    assert paid.status is PaymentStatus.PAID and paid.collection is None and paid.payments == (pay(12_100),)
    short = document(collection=Collection.DEBIT_FAILED).paid(pay(12_000))
    assert short.status is PaymentStatus.DEBIT_FAILED and short.balance == 100


@pytest.mark.parametrize("amount", [0, -1, 12_101])
def test_a_payment_never_takes_a_balance_below_zero(amount):
    with pytest.raises(ValueError):
        document().paid(pay(amount))


def test_money_goes_to_the_oldest_pay_by_first_and_the_rest_is_credit():
    older = document("INV-202609-0000007", due=5_500, pay_by=date(2026, 10, 30))
    newer = document("INV-202610-0000001", due=12_100)
    allocations, left = allocate(10_000, [newer, older])
    assert [(a.number, a.amount) for a in allocations] == [("INV-202609-0000007", 5_500), ("INV-202610-0000001", 4_500)]
    assert left == 0
    allocations, left = allocate(20_000, [newer, older])
    assert sum(a.amount for a in allocations) == 17_600 and left == 2_400


@given(
    st.integers(min_value=0, max_value=10**7),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 28)), max_size=8),
)
def test_allocation_never_over_allocates_nor_loses_a_yen(amount, rows):
    documents = [
        document(f"INV-202610-{i:07d}", due=due, paid=min(paid, due), pay_by=date(2026, 11, day))
        for i, (due, paid, day) in enumerate(rows, start=1)
    ]
    allocations, left = allocate(amount, documents)
    by_number = {d.number: d for d in documents}
    assert sum(a.amount for a in allocations) + left == amount
    assert all(0 < a.amount <= by_number[a.number].balance for a in allocations)
    assert left == 0 or sum(a.amount for a in allocations) == sum(d.balance for d in documents)


def test_a_correction_takes_over_what_was_paid_and_the_excess_becomes_credit():
    paid = document(paid=12_100)
    correction, excess = carried_over(paid, "INV-202610-0000009", 13_200, date(2026, 12, 30))
    assert (correction.amount_due, correction.paid_amount, correction.balance, excess) == (13_200, 12_100, 1_100, 0)
    lower, excess = carried_over(paid, "INV-202610-0000009", 11_000, date(2026, 12, 30))
    assert (lower.paid_amount, lower.balance, lower.status, excess) == (11_000, 0, PaymentStatus.PAID, 1_100)


def test_a_return_lowers_the_amount_due_and_money_paid_beyond_it_becomes_credit():
    lowered, excess = lowered_by_return(document(paid=5_000), 1_100)
    assert (lowered.amount_due, lowered.paid_amount, lowered.balance, excess) == (11_000, 5_000, 6_000, 0)
    lowered, excess = lowered_by_return(document(paid=12_100), 1_100)
    assert (lowered.amount_due, lowered.paid_amount, lowered.balance, excess) == (11_000, 11_000, 0, 1_100)
    with pytest.raises(ValueError):
        lowered_by_return(document(), 12_101)
