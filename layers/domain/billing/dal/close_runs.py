"""Progress of a month close: accounts listed, closed, issued, failed."""

from __future__ import annotations

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import update_if

COUNTERS = ("total", "closed", "issued", "skipped", "failed")


class CloseRunStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def start(self, month: str) -> bool:
        """Record the run once; False if it had already started (a re-run resumes it)."""
        return update_if(
            self.client,
            self.table,
            self._key(month),
            "SET started_at = :now, #month = :month",
            "attribute_not_exists(started_at)",
            {":now": months.iso_now(), ":month": month},
            names={"#month": "month"},
        )[0]

    def count_page(self, month: str, page_id: str, accounts: int) -> bool:
        """Add a page's accounts to the total, once per page however often it is redelivered."""
        return update_if(
            self.client,
            self.table,
            self._key(month),
            "ADD #total :n, pages :page",
            "NOT contains(pages, :id)",
            {":n": accounts, ":page": {page_id}, ":id": page_id},
            names={"#total": "total"},
        )[0]

    def add(self, month: str, counter: str, amount: int = 1) -> None:
        assert counter in COUNTERS, counter
        self.client.update_item(
            TableName=self.table,
            Key=self._key(month),
            UpdateExpression="ADD #counter :n",
            ExpressionAttributeNames={"#counter": counter},
            ExpressionAttributeValues=to_item({":n": amount}),
        )

    def get(self, month: str) -> dict:
        response = self.client.get_item(TableName=self.table, Key=self._key(month), ConsistentRead=True)
        item = from_item(response.get("Item"))
        progress = {counter: item.get(counter, 0) for counter in COUNTERS}
        pages = item.get("pages") or set()
        return {"month": month, "started_at": item.get("started_at"), "pages": len(pages), **progress}

    @staticmethod
    def _key(month: str) -> dict:
        return keys.key(keys.month_pk(month), keys.CLOSE_RUN)
