"""The invoice desk's indexes: documents by issue date, spread over shards, and documents by number.

``DocumentsByIssueDate``: partition ``issue_shard`` = ``<issue month>#<shard>``
(the shard is crc32 of the document number mod 16, so one month's documents
never share one hot key), sort ``issued_key`` = ``<issued_on>#<number>``. A
search queries each (month, shard) partition of its range with a key
condition on the dates and a filter for the other conditions, and merges the
shards oldest first, lazily: a page of 50 reads little more than 50 rows per
shard, and a month is read only once the months before it are exhausted.

``DocumentsByNumber``: partition ``document_number``, only on document items
(letters also carry ``invoice_number``, so the index has its own attribute and
stays sparse); it finds a document's account, then the item itself is read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import date
from itertools import chain, islice

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.invoicing.desk import ROW_FIELDS, DocumentSearch, merge_oldest_first
from billing.payments.ledger import receivable_of

PAYMENT_STATE = ("amount_due", "paid_amount", "pay_by", "collection")  # read from each listed document's item

DOCUMENT_SHARDS = 16
# What the list shows and filters on; template.yaml projects the same names into DocumentsByIssueDate.
LISTED = (*ROW_FIELDS, "correction_suggested")


def document_shard(number: str) -> int:
    return zlib.crc32(number.encode()) % DOCUMENT_SHARDS


def issue_partition(issue_month: str, shard: int) -> str:
    return f"{issue_month}#{shard:02d}"


def index_keys(record: dict) -> dict:
    """The desk's index attributes of a document item (``document_record`` adds them)."""
    number, issued_on = record["invoice_number"], record["issued_on"]
    return {
        "issue_shard": issue_partition(issued_on[:7], document_shard(number)),
        "issued_key": f"{issued_on}#{number}",
        "document_number": number,
    }


class DocumentIndex:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def search(self, search: DocumentSearch, after: str | None = None, today: date | None = None) -> Iterator[dict]:
        """Every document the search matches, oldest first, strictly after ``after`` (a position), lazily, each
        with its payment state (``today``, Tokyo's, decides what is overdue)."""
        filters, names, values = _filter(search)
        listed = chain.from_iterable(
            merge_oldest_first(
                self._partition(issue_partition(month, shard), low, high, after, filters, names, values)
                for shard in range(DOCUMENT_SHARDS)
            )
            for month in search.issue_months()
            if after is None or month >= after[:7]
            for low, high in [search.day_range(month)]
        )
        return self._with_payment(listed, search, today)

    def page(
        self, search: DocumentSearch, limit: int, after: str | None = None, today: date | None = None
    ) -> tuple[list[dict], bool]:
        """Up to ``limit`` documents, and whether more follow (one more is read to know)."""
        found = list(islice(self.search(search, after, today), limit + 1))
        return found[:limit], len(found) > limit

    def _with_payment(self, listed: Iterator[dict], search: DocumentSearch, today: date | None) -> Iterator[dict]:
        """Each listed document with its payment state, read from the items 100 at a time (one BatchGetItem),
        and only those the search's payment conditions take."""
        while chunk := list(islice(listed, 100)):
            states = self._payment_states(chunk)
            for record in chunk:
                shown = with_payment_state({**record, **states.get(record["invoice_number"], {})}, today)
                if _payment_matches(search, shown, today):
                    yield shown

    def _payment_states(self, records: list[dict]) -> dict[str, dict]:
        wanted = [keys.key(keys.account_pk(r["account_id"]), keys.document_sk(r["invoice_number"])) for r in records]
        names = {"#number": "invoice_number", **{f"#{name}": name for name in PAYMENT_STATE}}
        found = {}
        while wanted:
            answer = self.client.batch_get_item(
                RequestItems={
                    self.table: {
                        "Keys": wanted,
                        "ProjectionExpression": ", ".join(names),
                        "ExpressionAttributeNames": names,
                    }
                }
            )
            for item in answer.get("Responses", {}).get(self.table, []):
                state = from_item(item)
                found[state.pop("invoice_number")] = state
            wanted = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return found

    def account_of(self, number: str) -> str | None:
        response = self.client.query(
            TableName=self.table,
            IndexName=keys.DOCUMENTS_BY_NUMBER,
            KeyConditionExpression="document_number = :number",
            ExpressionAttributeValues=to_item({":number": number}),
        )
        found = [from_item(item) for item in response.get("Items", [])]
        return found[0]["account_id"] if found else None

    # ------------------------------------------------------------ internals
    def _partition(self, partition, low, high, after, filters, names, values) -> Iterator[dict]:
        lower = max(low.isoformat(), after) if after else low.isoformat()
        query = {
            "TableName": self.table,
            "IndexName": keys.DOCUMENTS_BY_ISSUE_DATE,
            # '~' sorts after every character of a number, so the upper date is inclusive
            "KeyConditionExpression": "issue_shard = :partition AND issued_key BETWEEN :low AND :high",
            "ExpressionAttributeValues": to_item(
                {":partition": partition, ":low": lower, ":high": f"{high.isoformat()}#~", **values}
            ),
            "Limit": 100,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
            query["ExpressionAttributeNames"] = names
        while True:
            response = self.client.query(**query)
            for item in response.get("Items", []):
                record = from_item(item)
                if record["issued_key"] != after:  # BETWEEN includes the position itself
                    yield record
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def with_payment_state(record: dict, today: date | None = None) -> dict:
    """The document with ``payment_status``, ``balance`` and (given Tokyo's ``today``) ``overdue``; each null for
    a return invoice, or a document issued before the payment ledger."""
    if "amount_due" not in record:
        return {**record, "payment_status": None, "balance": None, "overdue": None}
    state = receivable_of(record)
    overdue = None if today is None else state.overdue(today)
    return {**record, "payment_status": state.status.value, "balance": state.balance, "overdue": overdue}


def _payment_matches(search: DocumentSearch, record: dict, today: date | None) -> bool:
    if search.payment_status is not None and record["payment_status"] != search.payment_status:
        return False
    return search.overdue is None or bool(record["overdue"]) == search.overdue


def _filter(search: DocumentSearch) -> tuple[list[str], dict, dict]:
    filters, names, values = [], {}, {}
    if search.min_total is not None:
        filters.append("#total >= :min_total")
        names["#total"], values[":min_total"] = "total", search.min_total
    if search.max_total is not None:
        filters.append("#total <= :max_total")
        names["#total"], values[":max_total"] = "total", search.max_total
    if search.counterparty is not None:
        filters.append("contains(#counterparty, :counterparty)")
        names["#counterparty"], values[":counterparty"] = "counterparty", search.counterparty
    if search.correction_suggested is True:
        filters.append("#suggested = :yes")
        names["#suggested"], values[":yes"] = "correction_suggested", True
    elif search.correction_suggested is False:
        filters.append("(attribute_not_exists(#suggested) OR #suggested = :no)")
        names["#suggested"], values[":no"] = "correction_suggested", False
    return filters, names, values
