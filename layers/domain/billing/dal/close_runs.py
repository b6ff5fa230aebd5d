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

Progress (issued, skipped) is counted on one item per account shard, so the
issuers of a large month do not all write one hot item. An account that
cannot be issued (its last try failed, or its number found no billable
contract) gets a failure record with its reserved number instead
(``CLOSE_FAILED#<account>``); a retry re-issues it under that number and
removes the record. ``failed`` is the number of those records, so once
nothing is in flight ``issued + skipped + failed == total``.

``month_closer`` wires the domain's ``MonthCloser`` (each account's close) to
the stack's stores, for the functions that issue documents.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import put_if_absent, transact_if, update_if
from billing.invoicing.close_run import CloseRunProgress, MonthCloser, check_close_order

if TYPE_CHECKING:
    from billing.invoicing.invoice import Invoice

TOTAL = "total"
PROGRESS_COUNTERS = ("issued", "skipped")
MAX_CLAIM_ATTEMPTS = 50


class NumberingContention(RuntimeError):
    """Other pages kept taking the counter first; the page message will be retried."""


@dataclass(frozen=True)
class CloseFailure:
    """An account the close could not issue, and the number reserved for it."""

    account_id: str
    sequence: int
    error: str
    failed_at: str


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
        """Record the run once; False if it had already started (a re-run resumes it).

        Months close in order (``check_close_order``: ``CloseOutOfOrder`` names the month to close first).
        First the closes' mark moves to this month, on condition it is still the month the order was checked
        against: the latest month whose close has started. A new account whose contract starts in or before it
        is refused from then on (``AccountStore.create``), before this close lists the accounts to bill.
        """
        run = self.client.get_item(TableName=self.table, Key=self._run_key(month), ConsistentRead=True)
        if "started_at" in run.get("Item", {}):
            return False
        for _ in range(MAX_CLAIM_ATTEMPTS):
            latest = self.latest_close()
            check_close_order(month, latest, self.progress(latest) if latest and latest != month else None)
            condition, values = (
                ("attribute_not_exists(latest)", {}) if latest is None else ("latest = :seen", {":seen": latest})
            )
            if update_if(
                self.client, self.table, keys.LATEST_CLOSE, "SET latest = :month", condition, values | {":month": month}
            )[0]:
                break
        else:
            raise RuntimeError(f"the closes' mark kept moving while {month}'s close started; try again")
        return update_if(
            self.client,
            self.table,
            self._run_key(month),
            "SET started_at = :now, #month = :month",
            "attribute_not_exists(started_at)",
            {":now": months.iso_now(), ":month": month},
            names={"#month": "month"},
        )[0]

    def latest_close(self) -> str | None:
        """The latest month whose close has started, or None before the first close."""
        response = self.client.get_item(TableName=self.table, Key=keys.LATEST_CLOSE, ConsistentRead=True)
        return from_item(response["Item"]).get("latest") if "Item" in response else None

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
            Key=keys.account_progress_key(month, account_id),
            UpdateExpression="ADD #counter :n",
            ExpressionAttributeNames={"#counter": counter},
            ExpressionAttributeValues=to_item({":n": 1}),
        )

    def get(self, month: str) -> dict:
        """The run's progress: accounts total (from the pages), issued and skipped (from the shards), failed."""
        run, progress = self._read(month)
        return {"month": month, "started_at": run.get("started_at"), "pages": run.get("pages", 0), **vars(progress)}

    def progress(self, month: str) -> CloseRunProgress | None:
        """The run's progress, or None if the month's close never started."""
        run, progress = self._read(month)
        return progress if run.get("started_at") else None

    def record_failure(self, month: str, account_id: str, sequence: int, error: str) -> bool:
        """Keep an account that could not be issued, with its reserved number, once (the first error stays)."""
        failure = {
            "pk": keys.month_pk(month),
            "sk": keys.close_failure_sk(account_id),
            "account_id": account_id,
            "sequence": sequence,
            "error": error[:1000],
            "failed_at": months.iso_now(),
        }
        return put_if_absent(self.client, self.table, failure)[0]

    def clear_failure(self, month: str, account_id: str) -> None:
        """The account is issued now: it no longer needs anyone (a no-op if it never failed)."""
        self.client.delete_item(
            TableName=self.table, Key=keys.key(keys.month_pk(month), keys.close_failure_sk(account_id))
        )

    def failures(self, month: str) -> list[CloseFailure]:
        found, start = [], {}
        while True:
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_item({":pk": keys.month_pk(month), ":prefix": keys.CLOSE_FAILED}),
                ConsistentRead=True,
                **start,
            )
            for item in map(from_item, response["Items"]):
                found.append(CloseFailure(item["account_id"], int(item["sequence"]), item["error"], item["failed_at"]))
            if "LastEvaluatedKey" not in response:
                return found
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}

    # ------------------------------------------------------------ internals
    def _read(self, month: str) -> tuple[dict, CloseRunProgress]:
        shards = keys.all_shards()
        wanted = [self._run_key(month), *(keys.close_progress_key(month, s) for s in shards)]
        items, request = [], {self.table: {"Keys": wanted, "ConsistentRead": True}}  # 17 keys: one call
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            items += [from_item(item) for item in response["Responses"].get(self.table, [])]
            request = response.get("UnprocessedKeys") or {}
        run = next((item for item in items if item["sk"] == keys.CLOSE_RUN), {})
        counted = {
            name: sum(item.get(name, 0) for item in items if item["sk"] == keys.CLOSE_PROGRESS)
            for name in PROGRESS_COUNTERS
        }
        progress = CloseRunProgress(
            month=month,
            total=int(run.get(TOTAL, 0)),
            issued=int(counted["issued"]),
            skipped=int(counted["skipped"]),
            failed=len(self.failures(month)) if run else 0,
            last_sequence=int(run.get("last_sequence", 0)),
            shards_done=int(run.get("shards_done", 0)),
            shards=len(shards),
        )
        return run, progress

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
                    # The close's last number: blocks are taken in counter order, so each page's end is the
                    # highest yet (corrections share the counter, and never count as the close's).
                    "UpdateExpression": "ADD #total :n, pages :one, shards_done :last_page"
                    + (" SET last_sequence = :end" if page.account_ids else ""),
                    "ExpressionAttributeNames": {"#total": TOTAL},
                    "ExpressionAttributeValues": to_item(
                        {":n": len(page.account_ids), ":one": 1, ":last_page": 0 if page.next_cursor else 1}
                        | ({":end": last + len(page.account_ids)} if page.account_ids else {})
                    ),
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


def month_closer(render: Callable[[Invoice], bytes]) -> MonthCloser:
    """A ``MonthCloser`` on the BillingTable, the InvoiceBucket and the invoicing bus, rendering with ``render``."""
    # Imported here: the functions that only fan a month out or read its run load none of the stores a close writes.
    from billing.dal import stores
    from billing.dal.messaging import publish
    from billing.invoicing.issuer import load_issuer
    from billing.settings import settings
    from billing.tariff import load_tariff

    closing = SimpleNamespace(
        accounts=stores.accounts(),
        usage=stores.usage(),
        invoices=stores.invoices(),
        archive=stores.archive(),
        runs=stores.close_runs(),
    )
    return MonthCloser(
        stores=closing,
        tariff=load_tariff(),
        issuer=load_issuer(),
        render=render,
        announce=lambda detail_type, detail: publish(settings().event_bus_name, detail_type, detail),
    )
