"""Corrections and return invoices: a new document, its number and the original's new state, all at once.

Each is one TransactWriteItems:

1. the month's counter of the series moves from n to n+1 (on condition it is still n);
2. the document is stored under number n+1 (on condition it is new);
3. the original changes: a correction marks it ``replaced``, a return adds to its ``returned`` (on condition
   it is still ``issued``, and for a return that the total returned stays within the invoice);
4. the request is recorded under its idempotency scope (on condition it is new);
5. for a correction, the month's usage names the correction as its invoice (late reports flag it next).

So a number is used the moment it is taken (no gaps), a request makes its document once, and an original is
replaced or credited only with its document. Rendering, archiving and announcing come after, by the same
idempotent steps as the month close (``MonthCloser.finish``); a request repeated after a crash finds its
document and finishes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.invoices import InvoiceStore, document_key, document_record
from billing.errors import CreditExceedsInvoice, InvalidRequest, InvoiceReplaced
from billing.invoicing.invoice import Invoice
from billing.invoicing.numbers import document_number
from billing.vocabulary import DocumentKind

MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class DocumentRequest:
    """One operator request for a document: what it asks (hashed) and its idempotency scope."""

    kind: DocumentKind
    original: str  # the number of the invoice it corrects or returns against
    body: dict
    idempotency_key: str | None = None  # the caller's Idempotency-Key header, if any

    @property
    def request_hash(self) -> str:
        """What is asked: the kind of document, the invoice it names, and the body."""
        asked = [str(self.kind), self.original, self.body]
        return _sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False, separators=(",", ":")))

    @property
    def scope(self) -> str:
        """A key names one request, whatever it asks: the same key asking anything else (another invoice,
        the other kind, another body) is refused. Without a key, the request's own content is its identity,
        so an identical repeat is a retry."""
        return _sha256(f"key|{self.idempotency_key}" if self.idempotency_key else f"request|{self.request_hash}")


class DocumentStore:
    def __init__(self, table: str, client=None, invoices: InvoiceStore | None = None):
        self.table = table
        self.client = client or dynamodb()
        self.invoices = invoices or InvoiceStore(table, self.client)

    def add(
        self, request: DocumentRequest, original: dict, build: Callable[[str, int], Invoice], amount: int = 0
    ) -> dict:
        """The document ``request`` makes (``build(number, already_returned)``), stored once; the stored record."""
        series = "CN" if request.kind == DocumentKind.CREDIT_NOTE else "INV"
        month, account_id = original["month"], original["account_id"]
        for _ in range(MAX_ATTEMPTS):
            done = self.done(request)
            if done is not None:
                return done
            last = self._counter(month, series)
            document = build(document_number(series, month, last + 1), original.get("returned", 0))
            record = document_record(document)
            items = [
                self._counter_update(month, series, last),
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(record),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._original_update(original, request.kind, document.invoice_number, amount),
                self._request_put(request, account_id, document.invoice_number),
            ]
            if request.kind == DocumentKind.CORRECTION:
                items.append(self._usage_names(account_id, month, document.invoice_number, document.usage.peak))
            reasons = self._transact(items)
            if reasons is None:
                return record
            if reasons[2] == "ConditionalCheckFailed" and reasons[3] != "ConditionalCheckFailed":
                original = self.invoices.get(account_id, original["invoice_number"]) or original
                if original.get("status") == "replaced":
                    raise InvoiceReplaced(original["invoice_number"])
                if request.kind == DocumentKind.CREDIT_NOTE and original.get("status") == "issued":
                    left = original["total"] - original.get("returned", 0)
                    if amount > left:
                        raise CreditExceedsInvoice(original["invoice_number"], amount, left)
            # otherwise another document took the number, or the request was done meanwhile: look again
        raise RuntimeError(f"could not number a document for {original['invoice_number']}; try again")

    def done(self, request: DocumentRequest) -> dict | None:
        """The document this request already made, if it did (a retry); 400 if its key was used otherwise."""
        response = self.client.get_item(
            TableName=self.table, Key=keys.idempotency_key(request.scope), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        done = from_item(response["Item"])
        if done["request_hash"] != request.request_hash:
            raise InvalidRequest("this Idempotency-Key was used for a different request; use a new key")
        return self.invoices.get(done["account_id"], done["invoice_number"])

    # ------------------------------------------------------------ internals

    def _counter(self, month: str, series: str) -> int:
        response = self.client.get_item(TableName=self.table, Key=keys.counter_key(month, series), ConsistentRead=True)
        return int(response.get("Item", {}).get("seq", {}).get("N", 0))

    def _counter_update(self, month: str, series: str, last: int) -> dict:
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.counter_key(month, series),
                "UpdateExpression": "SET seq = :next",
                "ConditionExpression": "attribute_not_exists(seq)" if last == 0 else "seq = :last",
                "ExpressionAttributeValues": to_item({":next": last + 1} | ({} if last == 0 else {":last": last})),
            }
        }

    def _original_update(self, original: dict, kind: DocumentKind, number: str, amount: int) -> dict:
        values = {":issued": "issued"}
        if kind == DocumentKind.CORRECTION:
            update, condition = "SET #status = :replaced, replaced_by = :number", "#status = :issued"
            values |= {":replaced": "replaced", ":number": number}
        else:
            update = "SET returned = if_not_exists(returned, :zero) + :amount"
            condition = "#status = :issued AND (attribute_not_exists(returned) OR returned <= :room)"
            values |= {":zero": 0, ":amount": amount, ":room": original["total"] - amount}
        return {
            "Update": {
                "TableName": self.table,
                "Key": document_key(original["account_id"], original["invoice_number"]),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _request_put(self, request: DocumentRequest, account_id: str, number: str) -> dict:
        item = {
            **{name: value["S"] for name, value in keys.idempotency_key(request.scope).items()},
            "request_hash": request.request_hash,
            "account_id": account_id,
            "invoice_number": number,
            "kind": request.kind,
            "created_at": months.iso_now(),
        }
        return {
            "Put": {"TableName": self.table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def _usage_names(self, account_id: str, month: str, number: str, peak: int) -> dict:
        """The month's usage now names the correction, and the peak it billed (late reports compare with it)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(account_id), keys.usage_sk(month)),
                "UpdateExpression": "SET invoice_number = :number, invoiced_peak = :peak REMOVE correction_suggested",
                "ExpressionAttributeValues": to_item({":number": number, ":peak": peak}),
            }
        }

    def _transact(self, items: list[dict]) -> list[str | None] | None:
        """None when every write went through, else each item's cancellation reason."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("TransactionCanceledException", "TransactionConflictException"):
                raise
            reasons = error.response.get("CancellationReasons") or []
            return [reason.get("Code") for reason in reasons] + [None] * (len(items) - len(reasons))
        return None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
