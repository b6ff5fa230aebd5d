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

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from botocore.exceptions import ClientError

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import cancellation_reasons, transact_if
from billing.payments.debit_run import Held
from billing.payments.ledger import Allocation, Payment, Receivable, allocate, receivable_of

MAX_ATTEMPTS = 40  # each attempt that loses a race lets another writer's payment through


Claim = Callable[[list[Allocation], int, tuple[str, ...]], list[dict]]
"""The writes that record a payment as allocated, from (its allocations, what is left as credit, the documents it
pays off); the first is conditional, so the same payment is recorded once."""


class LedgerBusy(RuntimeError):
    """Other writers kept moving the account's documents; the caller's message is retried later."""


@dataclass(frozen=True)
class Applied:
    payment_id: str
    allocations: tuple[Allocation, ...]
    credited: int  # what went to the account's credit balance
    first_time: bool  # False: the payment had been applied before, and nothing changed now
    settled: tuple[str, ...] = ()  # the documents it paid off (balance 0)


def ledger_fields(account_id: str, number: str, amount_due: int, pay_by: date) -> dict:
    """What a newly issued document's item starts its payment state with, and its place in ``DocumentsByPayBy``."""
    return {
        "amount_due": amount_due,
        "paid_amount": 0,
        "pay_by": pay_by.isoformat(),
        "payments": {},  # by payment id
        "reminders": [],
        **keys.due_keys(account_id, number, pay_by.isoformat()),
    }


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

    def pay(self, account_id: str, payment: Payment, only: Sequence[str] | None = None) -> Applied:
        """Apply ``payment`` to the account: its open documents (``only`` those, when named) oldest ``pay_by``
        first, the rest as credit; recorded once under ``PAYMENT#<id>`` (a repeat answers what was applied)."""
        for _ in range(MAX_ATTEMPTS):
            applied = self.applied(payment.payment_id)
            if applied is not None:
                return applied

            def record(allocations: list[Allocation], left: int, settled: tuple[str, ...]) -> list[dict]:
                return [self._record(account_id, payment, allocations, left, settled)]

            applied = self.settle(account_id, payment, record, only)
            if applied is not None:
                return applied
        raise LedgerBusy(f"{account_id}: payment {payment.payment_id} lost {MAX_ATTEMPTS} races in a row")

    def settle(
        self, account_id: str, payment: Payment, claim: Claim, only: Sequence[str] | None = None
    ) -> Applied | None:
        """Allocate ``payment`` over the account's open documents in one transaction whose first writes are
        ``claim``'s (the payment's own record, conditional); None when that condition refused it (the payment
        was recorded before). A document that moved meanwhile makes it read and allocate again."""
        for _ in range(MAX_ATTEMPTS):
            documents = [d for d in self.open_documents(account_id) if only is None or d.number in only]
            allocations, left = allocate(payment.amount, documents)
            by_number = {d.number: d for d in documents}
            settled = tuple(a.number for a in allocations if a.amount == by_number[a.number].balance)
            claimed = claim(allocations, left, settled)
            writes = [*claimed, *(self._allocate(account_id, by_number[a.number], a, payment) for a in allocations)]
            if left:
                writes.append(credit_update(self.table, account_id, left))
            refused = cancellation_reasons(self.client, writes)
            if refused is None:
                return Applied(payment.payment_id, tuple(allocations), left, first_time=True, settled=settled)
            if any(reason == "ConditionalCheckFailed" for reason in refused[: len(claimed)]):
                return None
        raise LedgerBusy(f"{account_id}: payment {payment.payment_id} lost {MAX_ATTEMPTS} races in a row")

    def apply_credit(self, account_id: str, reference: str, today: date) -> Applied | None:
        """Apply the account's credit balance to its open documents (oldest ``pay_by`` first; not those a debit
        run is collecting), in one transaction that takes it from the balance on condition the balance still
        holds it; None when there is no credit or nothing open to take it. ``reference`` names what set it off
        (a document issued); each application is a payment of its own, so a repeat finds no credit left."""
        for _ in range(MAX_ATTEMPTS):
            profile = self.client.get_item(
                TableName=self.table, Key=keys.key(keys.account_pk(account_id), keys.PROFILE), ConsistentRead=True
            ).get("Item")
            credit = from_item(profile).get("credit_balance", 0) if profile else 0
            if credit <= 0:
                return None
            documents = [d for d in self.open_documents(account_id) if d.collection is None]
            allocations, left = allocate(credit, documents)
            if not allocations:
                return None
            payment = Payment(f"credit-{reference}-{uuid.uuid4().hex[:8]}", today, credit - left, "credit_balance")
            by_number = {d.number: d for d in documents}
            writes = [self._allocate(account_id, by_number[a.number], a, payment) for a in allocations]
            writes.append(profile_update(self.table, account_id, -payment.amount, must_hold=payment.amount))
            if cancellation_reasons(self.client, writes) is None:
                settled = tuple(a.number for a in allocations if a.amount == by_number[a.number].balance)
                return Applied(payment.payment_id, tuple(allocations), 0, first_time=True, settled=settled)
        raise LedgerBusy(f"{account_id}: its credit kept moving while it was applied")

    def take_back(
        self, account_id: str, payment_id: str, allocations: Sequence[Allocation], credited: int
    ) -> list[dict]:
        """The writes (for a transaction) that undo a payment's allocation: each document's share removed (on
        condition it is still there) and the credit it left taken back (on condition the balance still holds
        it)."""
        writes = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": keys.key(keys.account_pk(account_id), keys.document_sk(a.number)),
                    "UpdateExpression": "SET paid_amount = paid_amount - :share REMOVE payments.#payment",
                    "ConditionExpression": "attribute_exists(payments.#payment) AND paid_amount >= :share",
                    "ExpressionAttributeNames": {"#payment": payment_id},
                    "ExpressionAttributeValues": to_item({":share": a.amount}),
                }
            }
            for a in allocations
        ]
        if credited:
            writes.append(profile_update(self.table, account_id, -credited, must_hold=credited))
        return writes

    def pay_held(self, account_id: str, payment: Payment, held: Sequence[Held], activate_mandate: bool) -> list[str]:
        """A debit: ``payment`` goes to the documents a run held, on condition each is still as the run held it
        (no read: one transaction); when one moved meanwhile, to those of them still open, read afresh. With
        ``activate_mandate`` (the account's first debit) the mandate becomes active in the same transaction.
        The documents it paid off, the same on a repeat."""
        documents = [Receivable(h.number, h.amount_due, date.min, h.paid_amount) for h in held]
        allocations, left = allocate(payment.amount, documents)
        by_number = {d.number: d for d in documents}
        settled = tuple(a.number for a in allocations if a.amount == by_number[a.number].balance)
        writes = [self._record(account_id, payment, allocations, left, settled)]
        writes += [self._allocate(account_id, by_number[a.number], a, payment) for a in allocations]
        if left or activate_mandate:
            writes.append(profile_update(self.table, account_id, left, activate_mandate))
        try:
            self.client.transact_write_items(TransactItems=writes)
            return list(settled)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            if error.response["CancellationReasons"][0].get("Code") == "ConditionalCheckFailed":
                return list(self.applied(payment.payment_id).settled)  # applied before: a repeat
        applied = self.pay(account_id, payment, only=[h.number for h in held])  # a document moved: read afresh
        if activate_mandate:
            transact_if(self.client, [profile_update(self.table, account_id, 0, True)])
        return list(applied.settled)

    def applied(self, payment_id: str) -> Applied | None:
        item = self.client.get_item(TableName=self.table, Key=keys.payment_key(payment_id), ConsistentRead=True)
        record = from_item(item.get("Item"))
        if not record:
            return None
        allocations = tuple(Allocation(a["number"], a["amount"]) for a in record["allocations"])
        return Applied(payment_id, allocations, record["credited"], False, tuple(record.get("settled", ())))

    def _record(
        self, account_id: str, payment: Payment, allocations: list[Allocation], left: int, settled: tuple[str, ...]
    ) -> dict:
        record = {
            **keys.payment_key(payment.payment_id),
            **to_item(
                {
                    "account_id": account_id,
                    **payment.as_json(),
                    "allocations": [{"number": a.number, "amount": a.amount} for a in allocations],
                    "credited": left,
                    "settled": list(settled),
                }
            ),
        }
        return {"Put": {"TableName": self.table, "Item": record, "ConditionExpression": "attribute_not_exists(pk)"}}

    def _allocate(self, account_id: str, document: Receivable, allocation: Allocation, payment: Payment) -> dict:
        share = Payment(payment.payment_id, payment.received_on, allocation.amount, payment.method)
        paid_off = allocation.amount == document.balance  # a paid document is no longer collected or failed
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(account_id), keys.document_sk(document.number)),
                "UpdateExpression": "SET paid_amount = :paid, payments.#payment = :share"
                + (" REMOVE #collection" if paid_off else ""),
                "ExpressionAttributeNames": {"#payment": payment.payment_id}
                | ({"#collection": "collection"} if paid_off else {}),
                "ConditionExpression": "amount_due = :due AND paid_amount = :seen",
                "ExpressionAttributeValues": to_item(
                    {
                        ":paid": document.paid_amount + allocation.amount,
                        ":share": share.as_json(),
                        ":due": document.amount_due,
                        ":seen": document.paid_amount,
                    }
                ),
            }
        }


def profile_update(
    table: str, account_id: str, credit: int, activate_mandate: bool = False, must_hold: int = 0
) -> dict:
    """The write (for a transaction) on the account's profile: ``credit`` added to its credit balance (taken,
    when negative, on condition the balance holds ``must_hold``) and, on its first successful debit, its mandate
    made active."""
    sets = " SET mandate_status = :active" if activate_mandate else ""
    values = {":amount": credit} | ({":active": "active"} if activate_mandate else {})
    condition = "attribute_exists(pk)"
    if must_hold:
        condition += " AND credit_balance >= :held"
        values[":held"] = must_hold
    return {
        "Update": {
            "TableName": table,
            "Key": keys.key(keys.account_pk(account_id), keys.PROFILE),
            "UpdateExpression": "ADD credit_balance :amount" + sets,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
        }
    }


def credit_update(table: str, account_id: str, amount: int) -> dict:
    """The write (for a transaction) that adds ``amount`` to the account's credit balance."""
    return profile_update(table, account_id, amount)
