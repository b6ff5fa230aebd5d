"""A month close: its start, its pages of accounts with their invoice numbers, and its progress.

Invoice numbers are reserved a page at a time, when the close fans a page of
accounts out. One transaction records the page (its billable accounts and
the cursor to the next page), moves the month's counter from n to n+len and
adds the accounts to the run's total, on condition that the page is not
recorded yet. Account i of the page is then numbered n+1+i by whichever
issuer takes its message. So:

* numbers are unique (blocks never overlap: the counter only moves by its
  condition) and gapless (every account of a block is billable, and gets an
  invoice);
* a redelivered page finds its record and re-sends the same numbers, so a
  page is counted, and an account numbered, once;
* the counter is written once per page (500 accounts), not once per invoice:
  a million accounts make 2,000 counter writes, and issuers never race.

Progress (issued, skipped, failed) is counted on one item per account shard,
so the issuers of a large month do not all write one hot item.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import transact_if, update_if

TOTAL = "total"
PROGRESS_COUNTERS = ("issued", "skipped", "failed")
MAX_CLAIM_ATTEMPTS = 50


class NumberingContention(RuntimeError):
    """Other pages kept taking the counter first; the page message will be retried."""


@dataclass(frozen=True)
class ClosePage:
    """A fanned-out page: its billable accounts, numbered from ``first_sequence`` in order."""

    account_ids: list[str]
    first_sequence: int
    next_cursor: dict | None

    def numbered(self) -> list[tuple[str, int]]:
        return [(account_id, self.first_sequence + i) for i, account_id in enumerate(self.account_ids)]


class CloseRunStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def start(self, month: str) -> bool:
        """Record the run once; False if it had already started (a re-run resumes it)."""
        return update_if(
            self.client,
            self.table,
            self._run_key(month),
            "SET started_at = :now, #month = :month",
            "attribute_not_exists(started_at)",
            {":now": months.iso_now(), ":month": month},
            names={"#month": "month"},
        )[0]

    def page(self, month: str, page_id: str) -> ClosePage | None:
        """The page as first recorded, or None if it never was."""
        response = self.client.get_item(TableName=self.table, Key=self._page_key(month, page_id), ConsistentRead=True)
        if "Item" not in response:
            return None
        item = from_item(response["Item"])
        return ClosePage(item["account_ids"], item["first_sequence"], json.loads(item["next_cursor"]))

    def record_page(self, month: str, page_id: str, account_ids: list[str], next_cursor: dict | None) -> ClosePage:
        """Record the page once and reserve its accounts' invoice numbers; a second call returns the first record."""
        for _ in range(MAX_CLAIM_ATTEMPTS):
            last = self._counter(month)
            page = ClosePage(account_ids, last + 1, next_cursor)
            if transact_if(self.client, self._record_page_items(month, page_id, page, last), retry_conflicts=True):
                return page
            recorded = self.page(month, page_id)
            if recorded:
                return recorded
            time.sleep(random.uniform(0.005, 0.05))  # another page moved the counter first
        raise NumberingContention(f"could not reserve invoice numbers for page {page_id} of {month}")

    def add(self, month: str, account_id: str, counter: str) -> None:
        """Count one account's outcome in its shard's progress."""
        assert counter in PROGRESS_COUNTERS, counter
        self.client.update_item(
            TableName=self.table,
            Key=progress_key(month, account_id),
            UpdateExpression="ADD #counter :n",
            ExpressionAttributeNames={"#counter": counter},
            ExpressionAttributeValues=to_item({":n": 1}),
        )

    def get(self, month: str) -> dict:
        """The run's progress: accounts total (from the pages), issued, skipped and failed (from the shards)."""
        wanted = [self._run_key(month), *(keys.close_progress_key(month, shard) for shard in keys.all_shards())]
        items, request = [], {self.table: {"Keys": wanted, "ConsistentRead": True}}  # 17 keys: one call
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            items += [from_item(item) for item in response["Responses"].get(self.table, [])]
            request = response.get("UnprocessedKeys") or {}
        run = next((item for item in items if item["sk"] == keys.CLOSE_RUN), {})
        progress = {counter: sum(item.get(counter, 0) for item in items) for counter in PROGRESS_COUNTERS}
        return {
            "month": month,
            "started_at": run.get("started_at"),
            "pages": run.get("pages", 0),
            TOTAL: run.get(TOTAL, 0),
            **progress,
        }

    # ------------------------------------------------------------ internals
    def _counter(self, month: str) -> int:
        response = self.client.get_item(TableName=self.table, Key=self._counter_key(month), ConsistentRead=True)
        return int(response.get("Item", {}).get("seq", {}).get("N", 0))

    def _record_page_items(self, month: str, page_id: str, page: ClosePage, last: int) -> list[dict]:
        record = {
            "pk": keys.month_pk(month),
            "sk": keys.close_page_sk(page_id),
            "account_ids": page.account_ids,
            "first_sequence": page.first_sequence,
            "next_cursor": json.dumps(page.next_cursor, sort_keys=True),
        }
        items = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": self._run_key(month),
                    "UpdateExpression": "ADD #total :n, pages :one",
                    "ExpressionAttributeNames": {"#total": TOTAL},
                    "ExpressionAttributeValues": to_item({":n": len(page.account_ids), ":one": 1}),
                }
            },
        ]
        if page.account_ids:
            condition = "attribute_not_exists(seq)" if last == 0 else "seq = :last"
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self._counter_key(month),
                        "UpdateExpression": "SET seq = :next",
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": to_item(
                            {":next": last + len(page.account_ids)} | ({} if last == 0 else {":last": last})
                        ),
                    }
                }
            )
        return items

    @staticmethod
    def _counter_key(month: str) -> dict:
        return keys.key(keys.month_pk(month), keys.INVOICE_COUNTER)

    @staticmethod
    def _run_key(month: str) -> dict:
        return keys.key(keys.month_pk(month), keys.CLOSE_RUN)

    @staticmethod
    def _page_key(month: str, page_id: str) -> dict:
        return keys.key(keys.month_pk(month), keys.close_page_sk(page_id))


def progress_key(month: str, account_id: str) -> dict:
    return keys.close_progress_key(month, keys.account_shard(account_id))
