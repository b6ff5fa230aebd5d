"""Documents whose delivery is not recorded yet: a sparse index that holds only them.

Every document item is written with two attributes, ``undelivered_shard``
(``UNDELIVERED#<crc32(number) % 16>``) and ``undelivered_since`` (when the
item was written, UTC, then ``#<number>``). The write that records its
delivery removes them in the same update: a web statement's notice once sent
(``billing.dal.deliveries``, with ``notified_at``), a letter once queued for
the print run (with its delivery plan), and so does the correction that
replaces a document (its correction is delivered instead: ``billing.dal.documents``).
``DocumentsUndelivered`` is keyed on
the two, so it holds only the documents still waiting: listing the ones older
than a grace period reads as many rows as there are undelivered documents,
however many were ever issued. The shards keep a month close's million writes
off one index partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.invoice_search import DOCUMENT_SHARDS, document_shard
from billing.vocabulary import DocumentKind, InvoiceStatus

SHARD = "undelivered_shard"
SINCE = "undelivered_since"
MARKER = (SHARD, SINCE)  # what the delivery's own write removes
PREFIX = "UNDELIVERED#"


def stamp(at: datetime) -> str:
    """A UTC time that sorts as text: always with microseconds, always ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def undelivered_attributes(number: str, at: datetime | None = None) -> dict:
    """The marker a new document item carries until its delivery is recorded."""
    return {SHARD: shard_key(document_shard(number)), SINCE: f"{stamp(at or datetime.now(UTC))}#{number}"}


def shard_key(shard: int) -> str:
    return f"{PREFIX}{shard:02d}"


class UndeliveredIndex:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def older_than(self, cutoff: datetime, limit: int) -> list[dict]:
        """Up to ``limit`` undelivered documents written before ``cutoff`` that the sweep can act on, oldest first
        within each shard, shared fairly between the shards: ``account_id``, ``invoice_number``, ``month``,
        ``status``, ``kind``.

        What the sweep can act on is filtered by the query itself, so each shard's quota counts only those: an
        issued document (announced again), or a correction or return invoice still ``numbered`` (its request
        stopped after its transaction: finished). A month close's ``numbered`` invoice is the close's own retry
        to re-drive, so it is not listed here."""
        per_shard = max(1, -(-limit // DOCUMENT_SHARDS))
        found = [row for shard in range(DOCUMENT_SHARDS) for row in islice(self._actionable(shard, cutoff), per_shard)]
        return sorted(found, key=lambda row: row[SINCE])[:limit]

    def count_of_month(self, month: str) -> int:
        """How many current documents of ``month`` (its invoices, corrections, return invoices) are undelivered
        (a replaced original is not: its correction is delivered instead)."""
        total = 0
        for shard in range(DOCUMENT_SHARDS):
            query = {
                **self._query(shard, "", {}),
                "FilterExpression": "#month = :month AND #status <> :replaced",
                "Select": "COUNT",
            }
            query["ExpressionAttributeNames"] = {"#month": "month", "#status": "status"}
            values = {":shard": shard_key(shard), ":month": month, ":replaced": str(InvoiceStatus.REPLACED)}
            query["ExpressionAttributeValues"] = to_item(values)
            while True:
                response = self.client.query(**query)
                total += response["Count"]
                if "LastEvaluatedKey" not in response:
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return total

    # ------------------------------------------------------------ internals
    def _query(self, shard: int, condition: str, values: dict) -> dict:
        return {
            "TableName": self.table,
            "IndexName": keys.DOCUMENTS_UNDELIVERED,
            "KeyConditionExpression": f"{SHARD} = :shard" + (f" AND {condition}" if condition else ""),
            "ExpressionAttributeValues": to_item({":shard": shard_key(shard), **values}),
        }

    def _actionable(self, shard: int, cutoff: datetime) -> Iterator[dict]:
        query = {
            **self._query(shard, "#since < :cutoff", {}),
            "FilterExpression": "#status = :issued OR (#status = :numbered AND #kind <> :invoice)",
            "ExpressionAttributeNames": {"#since": SINCE, "#status": "status", "#kind": "kind"},
            "Limit": 100,
        }
        values = {":shard": shard_key(shard), ":cutoff": stamp(cutoff)}
        values |= {":issued": str(InvoiceStatus.ISSUED), ":numbered": str(InvoiceStatus.NUMBERED)}
        values |= {":invoice": str(DocumentKind.INVOICE)}
        query["ExpressionAttributeValues"] = to_item(values)
        while True:
            response = self.client.query(**query)
            yield from map(from_item, response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
