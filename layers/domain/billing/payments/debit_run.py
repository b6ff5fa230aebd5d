"""What a debit run asks of each account: the sum of its documents due on the debit date, after its credit.

A run collects one debit date. For each direct-debit account it takes the documents whose ``pay_by`` is that
date and that still have a balance (and are not already being collected), applies the account's credit
balance to them first, oldest first, and debits the rest in one record. An account without a usable mandate
is skipped, with the reason, and its documents are asked for by transfer instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing.contracts.accounts import BillingContact
from billing.contracts.payment_details import DebitAccount, MandateStatus
from billing.payments.debit_file import DebitRecord
from billing.payments.ledger import Allocation, Receivable, allocate


@dataclass(frozen=True)
class Held:
    """A document as a run holds it: what it asks for and what was paid (its credit applied), so the result
    can be applied on condition it is still so, without reading it again."""

    number: str
    amount_due: int
    paid_amount: int

    @property
    def balance(self) -> int:
        return self.amount_due - self.paid_amount


class SkipReason(StrEnum):
    NO_DEBIT_ACCOUNT = "no_debit_account"
    MANDATE_REJECTED = "mandate_rejected"


@dataclass(frozen=True)
class Debtor:
    """What a run needs to know of a direct-debit account."""

    account_id: str
    customer_number: str
    debit_account: DebitAccount | None
    mandate: MandateStatus
    credit_balance: int = 0
    delivery_method: str = "web"  # postal: a transfer request is a letter in the print run
    contact: BillingContact | None = None  # the billing contact: whom a transfer request goes to


@dataclass(frozen=True)
class AccountDebit:
    """The run's part for one account: credit applied, then a record to debit or the reason it is skipped."""

    account_id: str
    credit_applied: tuple[Allocation, ...] = ()
    record: DebitRecord | None = None
    skipped: SkipReason | None = None
    documents: tuple[str, ...] = ()  # those the record collects, or those to ask for by transfer
    owed: tuple[Held, ...] = ()  # each of those documents as the run holds it

    @property
    def collects(self) -> bool:
        return self.record is not None


def plan(debtor: Debtor, documents: list[Receivable], debit_date: date) -> AccountDebit | None:
    """The account's part in the run of ``debit_date``, or ``None`` when it owes nothing that day."""
    due = [d for d in documents if d.pay_by == debit_date and d.balance > 0 and d.collection is None]
    if not due:
        return None
    credit, _ = allocate(min(debtor.credit_balance, sum(d.balance for d in due)), due)
    applied = {a.number: a.amount for a in credit}
    held = [
        Held(d.number, d.amount_due, d.paid_amount + applied.get(d.number, 0))
        for d in sorted(due, key=lambda d: d.number)
    ]
    owed = tuple(h for h in held if h.balance > 0)
    numbers = tuple(h.number for h in owed)
    if not owed:
        return AccountDebit(debtor.account_id, tuple(credit))
    if debtor.debit_account is None:
        reason = SkipReason.NO_DEBIT_ACCOUNT
        return AccountDebit(debtor.account_id, tuple(credit), skipped=reason, documents=numbers, owed=owed)
    if debtor.mandate is MandateStatus.REJECTED:
        reason = SkipReason.MANDATE_REJECTED
        return AccountDebit(debtor.account_id, tuple(credit), skipped=reason, documents=numbers, owed=owed)
    record = DebitRecord(
        account_id=debtor.account_id,
        customer_number=debtor.customer_number,
        account=debtor.debit_account,
        amount=sum(h.balance for h in owed),
        first_debit=debtor.mandate is MandateStatus.PENDING,
        documents=numbers,
    )
    return AccountDebit(debtor.account_id, tuple(credit), record=record, documents=numbers, owed=owed)
