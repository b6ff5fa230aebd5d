"""Print runs in the BillingTable: the day's run, its recorded batches, and the letters they claim.

A batch is recorded in one transaction with the run's move past it (on
condition that the run still stands where the planner read it), so two
planners of one day never record two different batch *n*. Letters are read
in key order from each posting date's partition and merged, a page at a
time, so planning one batch reads about one batch of letters however many
wait. A letter is claimed with a conditional ``batch_id``: the first batch
to claim it owns it for good.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import put_if_absent, transact_if, update_if
from billing.delivery.print_run import LetterRef, PlannedBatch, PrintRun, WrittenBatch

# An account id never holds "#" (keys.churn_sk_prefix), so every letter key of an account sorts before
# "<account>$" and every later account's after it.
AFTER_ACCOUNT = "$"


class PrintRunStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    # ------------------------------------------------------------ the run
    def start(self, day: date) -> PrintRun:
        """The day's run: recorded now if it never was, else as it stands."""
        item = {
            "pk": keys.print_pk(day.isoformat()),
            "sk": keys.PRINT_RUN,
            "day": day.isoformat(),
            "batches": 0,
            "letters": 0,
            "planned": False,
            "sent": 0,
            "started_at": months.iso_now(),
        }
        created, _ = put_if_absent(self.client, self.table, item)
        return _run(item) if created else self.run(day)

    def run(self, day: date) -> PrintRun | None:
        response = self.client.get_item(TableName=self.table, Key=_run_key(day), ConsistentRead=True)
        return _run(from_item(response["Item"])) if "Item" in response else None

    def runs(self, days: list[date]) -> list[PrintRun]:
        """The runs of those days that were recorded (at most 100 days: one BatchGetItem)."""
        found, request = [], {self.table: {"Keys": [_run_key(day) for day in days], "ConsistentRead": True}}
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            found += [_run(from_item(item)) for item in response["Responses"].get(self.table, [])]
            request = response.get("UnprocessedKeys") or {}
        return sorted(found, key=lambda run: run.day)

    def record_batch(self, run: PrintRun, letters: list[LetterRef], planned: bool) -> PrintRun:
        """Record batch ``run.batches + 1`` of these letters (none: just mark the day planned); the run after it."""
        number = run.batches + 1
        after = letters[-1].account_id if letters else run.after_account
        values = {":n": run.batches, ":next": number if letters else run.batches, ":k": len(letters)}
        values |= {":planned": planned, ":after": after}
        move = {
            "TableName": self.table,
            "Key": _run_key(run.day),
            "UpdateExpression": "SET batches = :next, planned = :planned, after_account = :after ADD letters :k",
            "ConditionExpression": "batches = :n AND planned = :no",
            "ExpressionAttributeValues": to_item(values | {":no": False}),
        }
        items = [{"Update": move}]
        if letters:
            record = {
                "pk": keys.print_pk(run.day.isoformat()),
                "sk": keys.print_batch_sk(number),
                "number": number,
                "letters": [[x.posting_on, x.account_id, x.invoice_number, x.correlation_id] for x in letters],
                "recorded_at": months.iso_now(),
            }
            put = {"TableName": self.table, "Item": to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}
            items.insert(0, {"Put": put})
        transact_if(self.client, items, retry_conflicts=True)
        return self.run(run.day)  # ours, or the one another planner of the day recorded first

    def mark_sent(self, day: date, sent: int) -> None:
        update_if(
            self.client, self.table, _run_key(day), "SET sent = :sent", "sent < :sent", {":sent": sent}
        )  # refused: a later call already sent as many or more

    # ------------------------------------------------------------ the letters
    def waiting_letters(self, postings: list[date], after_account: str | None, page_size: int) -> Iterator[LetterRef]:
        """Unclaimed letters of those posting dates after that account, in key order (account, then number).

        Each posting date's partition is read a page at a time, and only as
        far as the caller takes letters, and the partitions are merged.
        """
        streams = [self._unclaimed(posting, after_account, page_size) for posting in postings]
        return (letter for _, letter in heapq.merge(*streams, key=lambda pair: pair[0]))

    def claim(self, letter: LetterRef, batch_id: str) -> bool:
        """Whether the letter is this batch's: claimed now, or by an earlier try of the same batch."""
        claimed, _ = update_if(
            self.client,
            self.table,
            _letter_key(letter),
            "SET batch_id = :batch",
            "attribute_exists(pk) AND (attribute_not_exists(batch_id) OR batch_id = :batch)",
            {":batch": batch_id},
        )
        return claimed

    # ------------------------------------------------------------ the batches
    def batch(self, day: date, number: int) -> tuple[PlannedBatch, WrittenBatch | None] | None:
        key = keys.key(keys.print_pk(day.isoformat()), keys.print_batch_sk(number))
        response = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        if "Item" not in response:
            return None
        item = from_item(response["Item"])
        planned = PlannedBatch(day, number, tuple(LetterRef(*letter) for letter in item["letters"]))
        written = None
        if item.get("written_at"):
            written = WrittenBatch(
                planned.batch_id,
                item["letters_written"],
                item["envelopes"],
                item.get("pdf_key"),
                item.get("manifest_key"),
            )
        return planned, written

    def mark_written(self, day: date, number: int, written: WrittenBatch) -> None:
        """The batch is written: on its record, and among the run's written batches (one transaction)."""
        values = {
            ":at": months.iso_now(),
            ":letters": written.letters,
            ":envelopes": written.envelopes,
            ":pdf": written.pdf_key,
            ":manifest": written.manifest_key,
        }
        batch = {
            "TableName": self.table,
            "Key": keys.key(keys.print_pk(day.isoformat()), keys.print_batch_sk(number)),
            "UpdateExpression": "SET written_at = if_not_exists(written_at, :at), letters_written = :letters,"
            " envelopes = :envelopes, pdf_key = :pdf, manifest_key = :manifest",
            "ExpressionAttributeValues": to_item(values),
        }
        run = {
            "TableName": self.table,
            "Key": _run_key(day),
            "UpdateExpression": "ADD written :number",
            "ExpressionAttributeValues": {":number": {"NS": [str(number)]}},
        }
        transact_if(self.client, [{"Update": batch}, {"Update": run}])  # no condition: a conflict raises, SQS retries

    # ------------------------------------------------------------ internals
    def _unclaimed(self, posting: date, after_account: str | None, page_size: int) -> Iterator[tuple[str, LetterRef]]:
        """One posting date's unclaimed letters after that account, in key order, read a page at a time."""
        condition, values = "pk = :pk", {":pk": keys.letters_pk(posting.isoformat())}
        if after_account is not None:
            condition += " AND sk > :after"
            values[":after"] = after_account + AFTER_ACCOUNT
        request = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "FilterExpression": "attribute_not_exists(batch_id)",
            "ExpressionAttributeValues": to_item(values),
            "ConsistentRead": True,
            "Limit": page_size,
        }
        while True:
            response = self.client.query(**request)
            for item in map(from_item, response["Items"]):
                letter = LetterRef(
                    posting.isoformat(), item["account_id"], item["invoice_number"], item.get("correlation_id")
                )
                yield item["sk"], letter
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _run_key(day: date) -> dict:
    return keys.key(keys.print_pk(day.isoformat()), keys.PRINT_RUN)


def _letter_key(letter: LetterRef) -> dict:
    return keys.key(keys.letters_pk(letter.posting_on), f"{letter.account_id}#{letter.invoice_number}")


def _run(item: dict) -> PrintRun:
    return PrintRun(
        day=date.fromisoformat(item["day"]),
        batches=int(item.get("batches", 0)),
        letters=int(item.get("letters", 0)),
        after_account=item.get("after_account"),
        planned=bool(item.get("planned")),
        sent=int(item.get("sent", 0)),
        written=frozenset(int(number) for number in item.get("written", ())),
    )
