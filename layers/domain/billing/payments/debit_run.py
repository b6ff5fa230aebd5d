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

from billing.contracts.payment_details import DebitAccount, MandateStatus
from billing.payments.debit_file import DebitRecord
from billing.payments.ledger import Allocation, Receivable, allocate


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


@dataclass(frozen=True)
class AccountDebit:
    """The run's part for one account: credit applied, then a record to debit or the reason it is skipped."""

    account_id: str
    credit_applied: tuple[Allocation, ...] = ()
    record: DebitRecord | None = None
    skipped: SkipReason | None = None
    documents: tuple[str, ...] = ()  # those the record collects, or those to ask for by transfer

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
    owing = [(d.number, d.balance - applied.get(d.number, 0)) for d in sorted(due, key=lambda d: d.number)]
    owing = [(number, balance) for number, balance in owing if balance > 0]
    numbers = tuple(number for number, _ in owing)
    if not owing:
        return AccountDebit(debtor.account_id, tuple(credit))
    if debtor.debit_account is None:
        return AccountDebit(debtor.account_id, tuple(credit), skipped=SkipReason.NO_DEBIT_ACCOUNT, documents=numbers)
    if debtor.mandate is MandateStatus.REJECTED:
        return AccountDebit(debtor.account_id, tuple(credit), skipped=SkipReason.MANDATE_REJECTED, documents=numbers)
    record = DebitRecord(
        account_id=debtor.account_id,
        customer_number=debtor.customer_number,
        account=debtor.debit_account,
        amount=sum(balance for _, balance in owing),
        first_debit=debtor.mandate is MandateStatus.PENDING,
        documents=numbers,
    )
    return AccountDebit(debtor.account_id, tuple(credit), record=record, documents=numbers)
