"""A debit run's part for each account: documents due that day, credit first, one record or a reason."""

from __future__ import annotations

from datetime import date

from billing.contracts.payment_details import DebitAccount, MandateStatus, customer_number
from billing.payments.debit_run import Debtor, SkipReason, plan
from billing.payments.ledger import Collection, Receivable

DEBIT = date(2026, 11, 27)
ACCOUNT = DebitAccount.of(
    bank_code="0005", branch_code="001", account_type="ordinary", account_number="1234567", holder_kana="ﾔﾏﾀﾞ ﾀﾛｳ"
)


def debtor(mandate=MandateStatus.ACTIVE, credit=0, account=ACCOUNT) -> Debtor:
    return Debtor("acme", customer_number(7), account, mandate, credit)


def due(number, amount, paid=0, pay_by=DEBIT, collection=None) -> Receivable:
    return Receivable(number, amount, pay_by, paid, collection)


def test_one_record_sums_the_documents_due_that_day_and_leaves_the_others():
    documents = [
        due("INV-202610-0000001", 12_100),
        due("COR-1", 1_100, paid=100),
        due("INV-202609-0000001", 5_500, pay_by=date(2026, 10, 27)),
    ]
    part = plan(debtor(), documents, DEBIT)
    assert part.record.amount == 13_100 and part.documents == ("COR-1", "INV-202610-0000001")
    assert not part.record.first_debit and part.skipped is None


def test_credit_is_applied_first_and_a_debit_is_only_what_is_left():
    part = plan(debtor(credit=12_100), [due("INV-1", 12_100), due("INV-2", 3_300)], DEBIT)
    assert [(a.number, a.amount) for a in part.credit_applied] == [("INV-1", 12_100)]
    assert part.record.amount == 3_300 and part.documents == ("INV-2",)
    covered = plan(debtor(credit=20_000), [due("INV-1", 12_100)], DEBIT)
    assert covered.record is None and covered.skipped is None and covered.credit_applied[0].amount == 12_100


def test_a_pending_mandate_is_a_first_debit():
    assert plan(debtor(MandateStatus.PENDING), [due("INV-1", 100)], DEBIT).record.first_debit


def test_without_a_usable_mandate_the_account_is_skipped_with_its_reason():
    rejected = plan(debtor(MandateStatus.REJECTED), [due("INV-1", 100)], DEBIT)
    assert (rejected.record, rejected.skipped, rejected.documents) == (None, SkipReason.MANDATE_REJECTED, ("INV-1",))
    missing = plan(debtor(account=None), [due("INV-1", 100)], DEBIT)
    assert missing.skipped is SkipReason.NO_DEBIT_ACCOUNT


def test_nothing_owed_or_already_collecting_is_no_part_of_the_run():
    assert plan(debtor(), [], DEBIT) is None
    assert plan(debtor(), [due("INV-1", 100, paid=100)], DEBIT) is None
    assert plan(debtor(), [due("INV-1", 100, collection=Collection.COLLECTING)], DEBIT) is None
    assert plan(debtor(), [due("INV-1", 100, collection=Collection.DEBIT_FAILED)], DEBIT) is None
