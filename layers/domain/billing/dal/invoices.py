"""Invoice records: created once with their reserved number, and their issue status.

The number comes with the issue message: the month close reserved it for the
account when it fanned the account's page out (``billing.dal.close_runs``).
Creating the invoice is one conditional put: the first run stores it, a
re-run gets the stored one back unchanged, content and number alike.
"""

from __future__ import annotations

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import put_if_absent, transact_if, update_if
from billing.dal.invoice_search import DocumentIndex, index_keys
from billing.dal.ledger import ledger_fields
from billing.dal.undelivered import undelivered_attributes
from billing.invoicing.close_run import Archived
from billing.invoicing.invoice import Invoice
from billing.vocabulary import DocumentKind


class InvoiceStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def get(self, account_id: str, number: str) -> dict | None:
        response = self.client.get_item(TableName=self.table, Key=document_key(account_id, number), ConsistentRead=True)
        return from_item(response["Item"]) if "Item" in response else None

    def get_many(self, wanted: list[tuple[str, str]]) -> list[dict]:
        """Documents by (account, number), 100 to a BatchGetItem; every one must exist."""
        found: dict[tuple[str, str], dict] = {}
        for start in range(0, len(wanted), 100):
            keys_ = [document_key(account_id, number) for account_id, number in wanted[start : start + 100]]
            request = {self.table: {"Keys": keys_, "ConsistentRead": True}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in map(from_item, response["Responses"].get(self.table, [])):
                    found[(item["account_id"], item["invoice_number"])] = item
                request = response.get("UnprocessedKeys") or {}
        missing = [key for key in wanted if key not in found]
        if missing:
            raise LookupError(f"no document {missing[0][1]} of {missing[0][0]} ({len(missing)} missing)")
        return [found[key] for key in wanted]

    def find(self, number: str) -> dict | None:
        """A document by its number alone (the operator's view): its account from the DocumentsByNumber index."""
        account_id = DocumentIndex(self.table, self.client).account_of(number)
        return None if account_id is None else self.get(account_id, number)

    def for_month(self, account_id: str, month: str) -> list[dict]:
        """The month's documents of one account, in number order: its invoice, corrections and return invoices."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :month)",
            ExpressionAttributeValues=to_item(
                {":pk": keys.account_pk(account_id), ":month": keys.month_documents_prefix(month)}
            ),
            ConsistentRead=True,
        )
        return [from_item(item) for item in response.get("Items", [])]

    def for_account(self, account_id: str) -> list[dict]:
        """Every invoice of one account (the partition holds only that account's items)."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :invoice)",
            ExpressionAttributeValues=to_item({":pk": keys.account_pk(account_id), ":invoice": "INVOICE#"}),
        )
        return [from_item(item) for page in pages for item in page["Items"]]

    def create(self, invoice: Invoice) -> dict:
        """The account's invoice for the month: this one if none was stored yet, else the stored one."""
        record = self._record(invoice)
        created, existing = put_if_absent(self.client, self.table, record)
        return record if created else existing

    def store_issued(
        self, invoice: Invoice, archived: Archived, also: list[dict] = (), correction_suggested: bool = False
    ) -> dict | None:
        """Store a month close's invoice, already archived, as issued: once, with its count in the close run's
        progress and the transaction writes ``also`` (the close's carry-over and late flag), all in one
        transaction; flagged ``correction_suggested`` when late reports already suggest it.

        The stored record once it is stored: this one, or an earlier run's (which made every write with it);
        None when a condition of ``also`` refused it and it is not stored.
        """
        record = {**document_record(invoice), **issued_attributes(archived)}
        del record["announced"]  # announced on every run (consumers are idempotent): a kill between never loses it
        if correction_suggested:
            record["correction_suggested"] = True
        put = {"TableName": self.table, "Item": to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}
        if transact_if(self.client, [{"Put": put}, {"Update": self._count(invoice)}, *also]):
            return record
        return self.get(invoice.account_id, invoice.invoice_number)

    def mark_issued(self, invoice: Invoice, archived: Archived) -> bool:
        """numbered → issued once; a month close's invoice is counted in the close run's progress with it."""
        account_id = invoice.account_id
        values = {
            ":issued": "issued",
            ":numbered": "numbered",
            ":key": archived.pdf_key,
            ":sha": archived.pdf_sha256,
            ":size": archived.pdf_size,
            ":xml": archived.einvoice_key,
            ":xml_sha": archived.einvoice_sha256,
        }
        issue = {
            "TableName": self.table,
            "Key": document_key(account_id, invoice.invoice_number),
            "UpdateExpression": "SET #status = :issued, pdf_key = :key, pdf_sha256 = :sha, pdf_size = :size,"
            " einvoice_key = :xml, einvoice_sha256 = :xml_sha",
            "ConditionExpression": "#status = :numbered",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }
        by_the_close = invoice.kind == DocumentKind.INVOICE
        return transact_if(
            self.client, [{"Update": issue}, *([{"Update": self._count(invoice)}] if by_the_close else [])]
        )

    def mark_announced(self, account_id: str, number: str) -> bool:
        return update_if(
            self.client,
            self.table,
            document_key(account_id, number),
            "SET announced = :yes",
            "announced = :no",
            {":yes": True, ":no": False},
        )[0]

    # ------------------------------------------------------------ internals
    def _record(self, invoice: Invoice) -> dict:
        return document_record(invoice)

    def _count(self, invoice: Invoice) -> dict:
        """The close run's progress: one more invoice issued, on the account's shard."""
        return {
            "TableName": self.table,
            "Key": keys.account_progress_key(invoice.month, invoice.account_id),
            "UpdateExpression": "ADD issued :one",
            "ExpressionAttributeValues": to_item({":one": 1}),
        }


def document_key(account_id: str, number: str) -> dict:
    return keys.key(keys.account_pk(account_id), keys.document_sk(number))


def issued_attributes(archived: Archived) -> dict:
    """What an issued document's record says of its archived files."""
    return {
        "status": "issued",
        "pdf_key": archived.pdf_key,
        "pdf_sha256": archived.pdf_sha256,
        "pdf_size": archived.pdf_size,
        "einvoice_key": archived.einvoice_key,
        "einvoice_sha256": archived.einvoice_sha256,
    }


def document_record(invoice: Invoice) -> dict:
    """The stored item of a new document (status ``numbered`` until its PDF is archived). An invoice or a
    correction starts its payment state: its total due by its due date (or debited on its debit date)."""
    body = invoice.as_record()
    if invoice.kind != DocumentKind.CREDIT_NOTE:
        body |= ledger_fields(invoice.account_id, invoice.invoice_number, invoice.total, invoice.pay_by)
    return {
        "pk": keys.account_pk(invoice.account_id),
        "sk": keys.document_sk(invoice.invoice_number),
        **body,
        "status": "numbered",
        "announced": False,
        "counterparty": invoice.recipient.company_name,
        **index_keys(body),
        **undelivered_attributes(invoice.invoice_number),  # in DocumentsUndelivered until delivery records it
    }
