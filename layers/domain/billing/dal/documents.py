"""Corrections and return invoices: a new document, its number and the month's chain, all at once.

Each is one TransactWriteItems:

1. the month's counter of the series moves from n to n+1 (on condition it is still n);
2. the document is stored under number n+1 (on condition it is new);
3. the document it names: a correction marks it ``replaced``, a return only checks it (on condition it is
   still ``issued``: only the month's current document is acted on, and a correction is its month's one);
4. the request is recorded under its idempotency scope (on condition it is new);
5. the month's chain (``CHAIN#<month>``) takes its new state: a return adds what it gave back, a correction
   writes it as it stands (so a chain first read from the month's return invoices is stored). Its condition
   is the chain as the document was built from it, so a return's amount and tax, and a correction's check
   that it bills at least what the chain returned, can never rest on a state another request has moved
   meanwhile (that request wins; this one is built again). Which document is current is the documents'
   own ``status`` (step 3), not the chain's;
6. for a correction, the month's usage names the correction as its invoice (late reports flag it next).

So a number is used the moment it is taken (no gaps), a request makes its document once, and a document is
replaced or returned against only with its new document. Rendering, archiving and announcing come after, by
the same idempotent steps as the month close (``MonthCloser.finish``); a request repeated after a crash finds
its document and finishes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import cancellation_reasons
from billing.dal.invoices import InvoiceStore, document_key, document_record
from billing.dal.ledger import credit_update
from billing.dal.undelivered import MARKER
from billing.errors import InvalidRequest, InvoiceReplaced
from billing.invoicing.invoice import Invoice
from billing.invoicing.numbers import document_number
from billing.invoicing.returns import Returned
from billing.payments.ledger import carried_over, lowered_by_return, receivable_of
from billing.vocabulary import DocumentKind, InvoiceStatus

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


@dataclass(frozen=True)
class Chain:
    """A month's chain as read: what it returned, and whether its item is stored yet."""

    returned: Returned
    stored: bool


class DocumentStore:
    def __init__(self, table: str, client=None, invoices: InvoiceStore | None = None):
        self.table = table
        self.client = client or dynamodb()
        self.invoices = invoices or InvoiceStore(table, self.client)

    def add(self, request: DocumentRequest, latest: dict, build: Callable[[str, Returned], Invoice]) -> dict:
        """The document ``request`` makes (``build(number, returned by the chain)``), stored once; its record.

        ``latest`` is the record of the month's current document, the one the request names. ``build`` raises
        the domain's refusal (more than is left, a correction below what was returned) from the chain it is given.
        """
        series = "CN" if request.kind == DocumentKind.CREDIT_NOTE else "INV"
        month, account_id = latest["month"], latest["account_id"]
        for _ in range(MAX_ATTEMPTS):
            done = self.done(request)
            if done is not None:
                return done
            last = self._counter(month, series)
            chain = self.chain(account_id, month)
            document = build(document_number(series, month, last + 1), chain.returned)
            after = chain.returned.plus(document) if request.kind == DocumentKind.CREDIT_NOTE else chain.returned
            record = document_record(document)
            moved = ledger_moves(latest, document, chain.returned.total)
            record |= moved.document
            items = [
                self._counter_update(month, series, last),
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(record),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._latest_update(latest, request.kind, document.invoice_number, moved),
                self._request_put(request, account_id, document.invoice_number),
                self._chain_update(account_id, month, chain, after),
            ]
            if request.kind == DocumentKind.CORRECTION:
                items.append(self._usage_names(account_id, month, document.invoice_number, document.usage.peak))
            if moved.credit:
                items.append(credit_update(self.table, account_id, moved.credit))
            reasons = self._transact(items)
            if reasons is None:
                return record
            if reasons[2] == "ConditionalCheckFailed" and reasons[3] != "ConditionalCheckFailed":
                latest = self.invoices.get(account_id, latest["invoice_number"]) or latest
                if latest.get("status") == InvoiceStatus.REPLACED:
                    raise InvoiceReplaced(latest["invoice_number"])
            # otherwise another document took the number, the chain moved (a return or a correction meanwhile)
            # or the request was done meanwhile: look again, and build again from what stands
        raise RuntimeError(f"could not number a document for {latest['invoice_number']}; try again")

    def chain(self, account_id: str, month: str) -> Chain:
        """The month's chain as it stands. A month whose chain was never written (returns made before chains
        existed included) has returned what its return invoices add up to."""
        response = self.client.get_item(
            TableName=self.table,
            Key=keys.key(keys.account_pk(account_id), keys.chain_sk(month)),
            ConsistentRead=True,
        )
        if "Item" in response:
            return Chain(Returned.from_record(from_item(response["Item"])), stored=True)
        documents = self.invoices.for_month(account_id, month)
        return Chain(Returned.of(Invoice.from_record(record) for record in documents), stored=False)

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

    def _latest_update(self, latest: dict, kind: DocumentKind, number: str, moved: LedgerMoves) -> dict:
        """The document the request names: still ``issued``, with the payment state the move was computed from."""
        values = {":issued": str(InvoiceStatus.ISSUED)} | moved.seen_values
        check = {
            "TableName": self.table,
            "Key": document_key(latest["account_id"], latest["invoice_number"]),
            "ConditionExpression": "#status = :issued" + moved.seen_condition,
            "ExpressionAttributeNames": {"#status": "status"},
        }
        sets = [f"{name} = :set_{name}" for name in moved.latest]
        values |= {f":set_{name}": value for name, value in moved.latest.items()}
        removes = ""
        if kind == DocumentKind.CORRECTION:
            # its customer now awaits the correction instead: it leaves DocumentsUndelivered with this write
            sets += ["#status = :replaced", "replaced_by = :number"]
            values |= {":replaced": str(InvoiceStatus.REPLACED), ":number": number}
            removes = f" REMOVE {', '.join(MARKER)}"
        if not sets:  # a return against a document with no payment state: what it gave back is the chain's
            return {"ConditionCheck": check | {"ExpressionAttributeValues": to_item(values)}}
        update = "SET " + ", ".join(sets) + removes
        return {"Update": check | {"UpdateExpression": update, "ExpressionAttributeValues": to_item(values)}}

    def _chain_update(self, account_id: str, month: str, before: Chain, after: Returned) -> dict:
        """The chain's new state, on condition it is still the state the document was built from.

        ``returned`` only grows (every return gives back at least ¥1), so it identifies the chain's state."""
        values = after.as_record()
        names = {f"#{name}": name for name in values}
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
        condition = "#returned = :before" if before.stored else "attribute_not_exists(pk)"
        condition_values = {":before": before.returned.total} if before.stored else {}
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.account_pk(account_id), keys.chain_sk(month)),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item({f":{name}": value for name, value in values.items()})
                | to_item(condition_values),
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
        return cancellation_reasons(self.client, items)


@dataclass(frozen=True)
class LedgerMoves:
    """What a correction or a return does to the payment state: on the new document, on the one it names (and
    the state that one must still be in), and the money that leaves both for the account's credit balance."""

    document: dict
    latest: dict
    seen: dict
    credit: int = 0

    @property
    def seen_condition(self) -> str:
        return "".join(f" AND {name} = :seen_{name}" for name in self.seen)

    @property
    def seen_values(self) -> dict:
        return {f":seen_{name}": value for name, value in self.seen.items()}


def ledger_moves(latest: dict, document: Invoice, returned: int) -> LedgerMoves:
    """A correction asks for its total less what the month's returns gave back (``returned``) and takes over
    what was paid on the invoice it replaces, which then asks for nothing; a return lowers what its document
    asks for. A document from before the ledger (no ``amount_due``) has nothing to move.
    """
    if "amount_due" not in latest:
        return LedgerMoves({}, {}, {})
    current = receivable_of(latest)
    seen = {"amount_due": current.amount_due, "paid_amount": current.paid_amount}
    if document.kind == DocumentKind.CORRECTION:
        state, excess = carried_over(current, document.invoice_number, document.total - returned, document.pay_by)
        carried = {
            "amount_due": state.amount_due,
            "paid_amount": state.paid_amount,
            "payments": {p.payment_id: p.as_json() for p in state.payments},
        }
        return LedgerMoves(carried, {"amount_due": 0, "paid_amount": 0}, seen, excess)
    lowered, excess = lowered_by_return(current, document.total)
    return LedgerMoves({}, {"amount_due": lowered.amount_due, "paid_amount": lowered.paid_amount}, seen, excess)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
