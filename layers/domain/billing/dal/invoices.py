"""Invoice records: gapless numbering, issue status, and search.

Numbering is a small optimistic transaction: read the month's counter, then
in one TransactWriteItems move it from n to n+1 *and* create the invoice
numbered n+1, on condition that the account has no invoice for the month.
A crash before the transaction leaves nothing; after it, a re-run finds the
invoice and returns it unchanged. So each account and month gets exactly one
number, and numbers run 1, 2, 3… with no gap and no repeat.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import date

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import transact_if, update_if
from billing.invoice import Invoice, invoice_number

MAX_NUMBERING_ATTEMPTS = 100


class NumberingContention(RuntimeError):
    """Too many concurrent issuers won the counter first; the message will be retried."""


class InvoiceStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def get(self, account_id: str, month: str) -> dict | None:
        response = self.client.get_item(
            TableName=self.table,
            Key=keys.key(keys.account_pk(account_id), keys.invoice_sk(month)),
            ConsistentRead=True,
        )
        return from_item(response["Item"]) if "Item" in response else None

    def for_account(self, account_id: str) -> list[dict]:
        """Every invoice of one account (the partition holds only that account's items)."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :invoice)",
            ExpressionAttributeValues=to_item({":pk": keys.account_pk(account_id), ":invoice": "INVOICE#"}),
        )
        return [from_item(item) for page in pages for item in page["Items"]]

    def number(self, account_id: str, month: str, build: Callable[[str], Invoice]) -> dict:
        """The account's invoice for the month, numbered and stored exactly once."""
        for _ in range(MAX_NUMBERING_ATTEMPTS):
            existing = self.get(account_id, month)
            if existing:
                return existing
            last = self._counter(month)
            invoice = build(invoice_number(month, last + 1))
            record = self._record(invoice)
            if self._claim(month, last, record):
                return record
            time.sleep(random.uniform(0.005, 0.05))  # another issuer took n+1 first
        raise NumberingContention(f"could not number the {month} invoice of {account_id}")

    def mark_issued(self, account_id: str, month: str, pdf_key: str, sha256: str, size: int) -> bool:
        """numbered → issued, and counted in the month's close run, in one transaction, once."""
        values = {":issued": "issued", ":numbered": "numbered", ":key": pdf_key, ":sha": sha256, ":size": size}
        issue = {
            "TableName": self.table,
            "Key": keys.key(keys.account_pk(account_id), keys.invoice_sk(month)),
            "UpdateExpression": "SET #status = :issued, pdf_key = :key, pdf_sha256 = :sha, pdf_size = :size",
            "ConditionExpression": "#status = :numbered",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }
        count = {
            "TableName": self.table,
            "Key": keys.key(keys.month_pk(month), keys.CLOSE_RUN),
            "UpdateExpression": "ADD issued :one",
            "ExpressionAttributeValues": to_item({":one": 1}),
        }
        return transact_if(self.client, [{"Update": issue}, {"Update": count}])

    def mark_announced(self, account_id: str, month: str) -> bool:
        return self._transition(
            account_id, month, "SET announced = :yes", "announced = :no", {":yes": True, ":no": False}
        )

    def search(
        self,
        issued_from: date,
        issued_to: date,
        min_total: int | None = None,
        max_total: int | None = None,
        counterparty: str | None = None,
    ) -> Iterator[dict]:
        """Issued invoices by issue date range, optionally by amount and counterparty (電子帳簿保存法)."""
        filters, values, names = [], {}, {}
        if min_total is not None or max_total is not None:
            names["#total"] = "total"
        if min_total is not None:
            filters.append("#total >= :min_total")
            values[":min_total"] = min_total
        if max_total is not None:
            filters.append("#total <= :max_total")
            values[":max_total"] = max_total
        if counterparty:
            filters.append("contains(counterparty, :counterparty)")
            values[":counterparty"] = counterparty
        month = issued_from.strftime("%Y-%m")
        while month <= issued_to.strftime("%Y-%m"):
            query = {
                "TableName": self.table,
                "IndexName": keys.INVOICES_INDEX,
                "KeyConditionExpression": "issue_month = :month AND issued_key BETWEEN :from AND :to",
                "ExpressionAttributeValues": to_item(
                    {":month": month, ":from": issued_from.isoformat(), ":to": f"{issued_to.isoformat()}#~", **values}
                ),
            }
            if filters:
                query["FilterExpression"] = " AND ".join(filters)
            if names:
                query["ExpressionAttributeNames"] = names
            for page in self.client.get_paginator("query").paginate(**query):
                yield from (from_item(item) for item in page["Items"])
            month = months.next_month(month)

    # ------------------------------------------------------------ internals
    def _counter(self, month: str) -> int:
        response = self.client.get_item(
            TableName=self.table, Key=keys.key(keys.month_pk(month), keys.INVOICE_COUNTER), ConsistentRead=True
        )
        return int(response.get("Item", {}).get("seq", {}).get("N", 0))

    def _claim(self, month: str, last: int, record: dict) -> bool:
        counter = {
            "TableName": self.table,
            "Key": keys.key(keys.month_pk(month), keys.INVOICE_COUNTER),
            "UpdateExpression": "SET seq = :next",
            "ConditionExpression": "attribute_not_exists(seq)" if last == 0 else "seq = :last",
            "ExpressionAttributeValues": to_item({":next": last + 1} | ({} if last == 0 else {":last": last})),
        }
        invoice = {"TableName": self.table, "Item": to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}
        return transact_if(self.client, [{"Update": counter}, {"Put": invoice}], retry_conflicts=True)

    def _record(self, invoice: Invoice) -> dict:
        body = invoice.as_record()
        return {
            "pk": keys.account_pk(invoice.account_id),
            "sk": keys.invoice_sk(invoice.month),
            **body,
            "status": "numbered",
            "announced": False,
            "issue_month": body["issued_on"][:7],
            "issued_key": f"{body['issued_on']}#{invoice.invoice_number}",
            "counterparty": invoice.recipient.company_name,
        }

    def _transition(self, account_id: str, month: str, update: str, condition: str, values: dict) -> bool:
        key = keys.key(keys.account_pk(account_id), keys.invoice_sk(month))
        return update_if(self.client, self.table, key, update, condition, values)[0]
