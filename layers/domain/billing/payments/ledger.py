"""What is owed on each document and what was paid: the payment ledger's rules, in plain Python.

A document's payment state lives beside the document: what it asks for (``amount_due``: its total less its
return invoices), what came in (``paid_amount``, with each payment), when it is due (``pay_by``), and what a
debit run is doing with it (``collection``). Everything else is derived here, in one place: the balance, the
status the API shows, whether it is overdue, and how a sum of money is spread over an account's documents.

Money is ``int`` yen. Nothing here takes a balance below zero: what a document cannot take is left over, and
the caller keeps it as the account's ``credit_balance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    COLLECTING = "collecting"  # in a debit run awaiting its result
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    DEBIT_FAILED = "debit_failed"  # the debit did not go through; the customer was asked to transfer


class Collection(StrEnum):
    """What a debit run is doing with a document: nothing (``None``), collecting it, or it failed."""

    COLLECTING = "collecting"
    DEBIT_FAILED = "debit_failed"


# How the statements page names each state: a debit awaiting its result is still 未入金 to the customer, and
# お支払期限超過 wins over every state but 入金済 once pay_by has passed.
STATUS_LABELS = {
    PaymentStatus.UNPAID: "未入金",
    PaymentStatus.COLLECTING: "未入金",
    PaymentStatus.PARTIALLY_PAID: "一部入金",
    PaymentStatus.PAID: "入金済",
    PaymentStatus.DEBIT_FAILED: "口座振替不能",
}
OVERDUE_LABEL = "お支払期限超過"


@dataclass(frozen=True)
class Payment:
    """Money applied to one document: a debit, a transfer's share, or the account's credit."""

    payment_id: str
    received_on: date
    amount: int
    method: str  # direct_debit | bank_transfer | credit_balance

    def as_json(self) -> dict:
        return {
            "payment_id": self.payment_id,
            "received_on": self.received_on.isoformat(),
            "amount": self.amount,
            "method": self.method,
        }


@dataclass(frozen=True)
class Reminder:
    level: int
    sent_on: date
    channel: str  # email | letter

    def as_json(self) -> dict:
        return {"level": self.level, "sent_on": self.sent_on.isoformat(), "channel": self.channel}


@dataclass(frozen=True)
class Receivable:
    """One document's payment state."""

    number: str
    amount_due: int
    pay_by: date
    paid_amount: int = 0
    collection: Collection | None = None
    payments: tuple[Payment, ...] = ()
    reminders: tuple[Reminder, ...] = field(default=())

    @property
    def balance(self) -> int:
        return max(0, self.amount_due - self.paid_amount)

    @property
    def status(self) -> PaymentStatus:
        if self.balance == 0:
            return PaymentStatus.PAID
        if self.collection is not None:
            return PaymentStatus(self.collection)
        return PaymentStatus.PARTIALLY_PAID if self.paid_amount else PaymentStatus.UNPAID

    def overdue(self, today: date) -> bool:
        return self.balance > 0 and today > self.pay_by

    def label(self, today: date) -> str:
        """The state in Japanese, as the statements page shows it."""
        late = self.overdue(today) and self.collection is not Collection.COLLECTING
        return OVERDUE_LABEL if late else STATUS_LABELS[self.status]

    def paid(self, payment: Payment) -> Receivable:
        """This document with ``payment`` applied; it must fit the balance (``allocate`` sees to it)."""
        if not 0 < payment.amount <= self.balance:
            raise ValueError(f"{self.number}: {payment.amount} yen does not fit a balance of {self.balance}")
        return replace(
            self,
            paid_amount=self.paid_amount + payment.amount,
            payments=(*self.payments, payment),
            collection=None if payment.amount == self.balance else self.collection,
        )

    def as_json(self, today: date) -> dict:
        return {
            "amount_due": self.amount_due,
            "paid_amount": self.paid_amount,
            "balance": self.balance,
            "payment_status": self.status.value,
            "pay_by": self.pay_by.isoformat(),
            "overdue": self.overdue(today),
            "payments": [p.as_json() for p in self.payments],
            "reminders": [r.as_json() for r in self.reminders],
        }


@dataclass(frozen=True)
class Allocation:
    number: str
    amount: int


def allocate(amount: int, open_documents: list[Receivable]) -> tuple[list[Allocation], int]:
    """Spread ``amount`` over the documents, oldest ``pay_by`` first (then by number), each up to its balance.

    Returns the allocations and what is left over (the account's credit).
    """
    if amount < 0:
        raise ValueError("an amount of money is never negative")
    allocations, left = [], amount
    for document in sorted(open_documents, key=lambda d: (d.pay_by, d.number)):
        share = min(left, document.balance)
        if share:
            allocations.append(Allocation(document.number, share))
            left -= share
    return allocations, left


def carried_over(replaced: Receivable, correction: str, total: int, pay_by: date) -> tuple[Receivable, int]:
    """A correction takes over what was paid on the invoice it replaces: (its payment state, the excess).

    What was paid beyond the correction's total is returned as the excess, for the account's credit balance.
    """
    kept = min(replaced.paid_amount, total)
    state = Receivable(correction, amount_due=total, pay_by=pay_by, paid_amount=kept, payments=replaced.payments)
    return state, replaced.paid_amount - kept


def lowered_by_return(current: Receivable, returned: int) -> tuple[Receivable, int]:
    """A return invoice lowers what its document asks for: (the document's new state, the excess paid).

    Money already paid beyond the new amount due leaves the document, for the account's credit balance.
    """
    if not 0 < returned <= current.amount_due:
        raise ValueError(f"{current.number}: a return of {returned} yen against {current.amount_due} due")
    due = current.amount_due - returned
    paid = min(current.paid_amount, due)
    return replace(current, amount_due=due, paid_amount=paid), current.paid_amount - paid


def receivable_of(item: dict) -> Receivable:
    """A stored document's payment state (its item as plain values)."""
    return Receivable(
        number=item["invoice_number"],
        amount_due=item["amount_due"],
        pay_by=date.fromisoformat(item["pay_by"]),
        paid_amount=item.get("paid_amount", 0),
        collection=Collection(item["collection"]) if item.get("collection") else None,
        payments=payments_of(item.get("payments") or ()),
        reminders=tuple(
            Reminder(r["level"], date.fromisoformat(r["sent_on"]), r["channel"]) for r in item.get("reminders", [])
        ),
    )


def payments_of(stored: dict | list) -> tuple[Payment, ...]:
    """A document's payments as stored: a map by payment id (so a payment taken back is one key removed), in the
    order they came; a list on documents written before that."""
    entries = stored.values() if isinstance(stored, dict) else stored
    payments = [
        Payment(p["payment_id"], date.fromisoformat(p["received_on"]), p["amount"], p["method"]) for p in entries
    ]
    return tuple(sorted(payments, key=lambda p: (p.received_on, p.payment_id)))
