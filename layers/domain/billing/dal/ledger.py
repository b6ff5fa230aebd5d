"""The payment ledger in the table: each document's payment state on its own item, and money applied to an
account in one transaction.

A document item carries ``amount_due``, ``paid_amount``, ``pay_by``, ``collection`` (a debit run's hold) and
the lists ``payments`` and ``reminders``. The profile carries the account's ``credit_balance``. A payment is
recorded once, under ``PAYMENT#<payment id>``.

Applying money is one TransactWriteItems: the payment's record (on condition it is new), each document it
goes to (on condition its ``amount_due`` and ``paid_amount`` are still what the allocation was computed
from), and what is left over added to the credit balance. Whoever else moved one of those documents first
wins; this payment is read and allocated again. So a yen is never allocated twice and a balance never goes
below zero, whatever runs at the same time, and a payment applied twice is applied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import transact_if
from billing.payments.ledger import Allocation, Payment, Receivable, allocate, receivable_of

MAX_ATTEMPTS = 40  # each attempt that loses a race lets another writer's payment through


class LedgerBusy(RuntimeError):
    """Other writers kept moving the account's documents; the caller's message is retried later."""


@dataclass(frozen=True)
class Applied:
    payment_id: str
    allocations: tuple[Allocation, ...]
    credited: int  # what went to the account's credit balance
    first_time: bool  # False: the payment had been applied before, and nothing changed now


def ledger_fields(amount_due: int, pay_by: date) -> dict:
    """What a newly issued document's item starts its payment state with."""
    return {"amount_due": amount_due, "paid_amount": 0, "pay_by": pay_by.isoformat(), "payments": [], "reminders": []}


class LedgerStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def open_documents(self, account_id: str) -> list[Receivable]:
        """The account's documents that still have a balance, read consistently."""
        items, start = [], None
        while True:
            page = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :documents)",
                FilterExpression="attribute_exists(amount_due) AND amount_due > paid_amount",
                ExpressionAttributeValues=to_item({":pk": keys.account_pk(account_id), ":documents": "INVOICE#"}),
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items += [from_item(item) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return [receivable_of(item) for item in items]

    def pay(self, account_id: str, payment: Payment) -> Applied:
        """Apply ``payment`` to the account: its open documents oldest ``pay_by`` first, the rest as credit."""
        for _ in range(MAX_ATTEMPTS):
            applied = self.applied(payment.payment_id)
            if applied is not None:
                return applied
            documents = self.open_documents(account_id)
            allocations, left = allocate(payment.amount, documents)
            by_number = {d.number: d for d in documents}
            writes = [self._record(account_id, payment, allocations, left)]
            writes += [self._allocate(account_id, by_number[a.number], a, payment) for a in allocations]
            if left:
                writes.append(credit_update(self.table, account_id, left))
            if transact_if(self.client, writes, retry_conflicts=True):
                return Applied(payment.payment_id, tuple(allocations), left, first_time=True)
        raise LedgerBusy(f"{account_id}: payment {payment.payment_id} lost {MAX_ATTEMPTS} races in a row")

    def applied(self, payment_id: str) -> Applied | None:
        item = self.client.get_item(TableName=self.table, Key=_payment_key(payment_id), ConsistentRead=True)
        record = from_item(item.get("Item"))
        if not record:
            return None
        allocations = tuple(Allocation(a["number"], a["amount"]) for a in record["allocations"])
        return Applied(payment_id, allocations, record["credited"], first_time=False)

    def _record(self, account_id: str, payment: Payment, allocations: list[Allocation], left: int) -> dict:
        record = {
            **_payment_key(payment.payment_id),
            **to_item(
                {
                    "account_id": account_id,
                    **payment.as_json(),
                    "allocations": [{"number": a.number, "amount": a.amount} for a in allocations],
                    "credited": left,
                }
            ),
        }
        return {"Put": {"TableName": self.table, "Item": record, "ConditionExpression": "attribute_not_exists(pk)"}}

    def _allocate(self, account_id: str, document: Receivable, allocation: Allocation, payment: Payment) -> dict:
        share = Payment(payment.payment_id, payment.received_on, allocation.amount, payment.method)
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(account_id), keys.document_sk(document.number)),
                "UpdateExpression": "SET paid_amount = :paid, payments = list_append(payments, :share)",
                "ConditionExpression": "amount_due = :due AND paid_amount = :seen",
                "ExpressionAttributeValues": to_item(
                    {
                        ":paid": document.paid_amount + allocation.amount,
                        ":share": [share.as_json()],
                        ":due": document.amount_due,
                        ":seen": document.paid_amount,
                    }
                ),
            }
        }


def credit_update(table: str, account_id: str, amount: int) -> dict:
    """The write (for a transaction) that adds ``amount`` to the account's credit balance."""
    return {
        "Update": {
            "TableName": table,
            "Key": keys.key(keys.account_pk(account_id), keys.PROFILE),
            "UpdateExpression": "ADD credit_balance :amount",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": to_item({":amount": amount}),
        }
    }


def _payment_key(payment_id: str) -> dict:
    return keys.key(f"PAYMENT#{payment_id}", "PAYMENT")
