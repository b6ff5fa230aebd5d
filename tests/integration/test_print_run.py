"""The print run under moto: planned batches, SQS fan-out, and a run killed at every write.

Letters are seeded directly (an issued postal invoice and its waiting
letter), so a test can have dozens of them without running a month close.
The planner and printer are driven through their handlers and queues as
Lambda would: a failed scheduled call is retried, a failed record stays on
its queue and comes back.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from datetime import date, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from billing import bank_calendar
from billing.dal import clients
from billing.dal.deliveries import DeliveryStore
from billing.dal.invoices import InvoiceStore, document_record
from billing.dal.print_runs import PrintRunStore
from billing.delivery.channels import plan_delivery
from tests.conftest import LambdaContext, load_event
from tests.integration.conftest import BUCKET, TABLE, Api
from tests.integration.faults import Snapshot
from tests.unit.test_delivery_routing import invoice

DAY = "2026-11-02"  # the posting date of October's letters (issued Sunday 11/1)
WRITES = {"PutItem", "UpdateItem", "TransactWriteItems", "PutObject", "SendMessageBatch", "SendMessage"}


class Killed(RuntimeError):
    """The process died here: the AWS call did not happen."""


class Faults:
    """Fails the k-th write of the planner and printer clients (once), as a crash just before it would."""

    def __init__(self, fail_at: int | None = None):
        self.fail_at, self.writes = fail_at, 0

    def __call__(self, model, **_):
        if model.name in WRITES:
            self.writes += 1
            if self.writes == self.fail_at:
                raise Killed(f"killed before write {self.writes} ({model.name})")

    def install(self) -> Faults:
        for client in (clients.dynamodb(), clients.s3(), clients.sqs()):
            client.meta.events.register("before-call", self, unique_id="print-run-faults")
        return self

    def remove(self) -> None:
        for client in (clients.dynamodb(), clients.s3(), clients.sqs()):
            client.meta.events.unregister("before-call", unique_id="print-run-faults")


class PrintRoom:
    """The scheduler, the two queues' event source mappings and the two functions."""

    def __init__(self, batch_size: int = 4, batches_per_call: int = 2):
        self.planner = Api("print_run").module
        self.printer = Api("print_batch").module
        self.planner.planner().batch_size = batch_size
        self.planner.planner().batches_per_call = batches_per_call
        self.posted = Counter()
        deliveries = self.printer.printer().deliveries
        mark_posted = deliveries.mark_posted

        def counted(account_id, number, posted_on, arrival):
            changed = mark_posted(account_id, number, posted_on, arrival)
            self.posted[number] += changed
            return changed

        deliveries.mark_posted = counted
        self.sqs = boto3.client("sqs")

    def schedule(self, day: str, attempts: int = 10) -> dict:
        """The scheduler's call, retried as its RetryPolicy would after a failure."""
        for _ in range(attempts):
            try:
                return self.planner.lambda_handler({**load_event("print_run.json"), "date": day}, LambdaContext())
            except Killed:
                continue
        raise AssertionError("the scheduled print run kept failing")

    def settle(self, rounds: int = 500) -> None:
        """Hand every queued message to its function until both queues stay empty; failed ones come back."""
        queues = [
            (os.environ["PRINT_RUN_QUEUE_URL"], self.planner),
            (os.environ["PRINT_BATCH_QUEUE_URL"], self.printer),
        ]
        for _ in range(rounds):
            busy = False
            for url, module in queues:
                messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
                    "Messages", []
                )
                if not messages:
                    continue
                busy = True
                try:
                    result = module.lambda_handler(sqs_event(messages), LambdaContext())
                    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
                except BatchProcessingError:  # every record failed: Lambda retries the whole batch
                    failed = {message["MessageId"] for message in messages}
                for message in messages:
                    if message["MessageId"] not in failed:
                        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if not busy:
                return
        raise AssertionError("the print queues did not settle")

    def run(self, day: str) -> dict:
        summary = self.schedule(day)
        self.settle()
        return summary

    def discard(self, url: str) -> None:
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def plan_and_lose_every_batch(self, day: str) -> None:
        """The day is planned to the end, but every batch message is lost (say, each ended in the DLQ)."""
        self.schedule(day)
        run_queue, batch_queue = os.environ["PRINT_RUN_QUEUE_URL"], os.environ["PRINT_BATCH_QUEUE_URL"]
        while True:
            self.discard(batch_queue)
            messages = self.sqs.receive_message(QueueUrl=run_queue, MaxNumberOfMessages=1).get("Messages", [])
            if not messages:
                return
            self.planner.lambda_handler(sqs_event(messages), LambdaContext())
            self.sqs.delete_message(QueueUrl=run_queue, ReceiptHandle=messages[0]["ReceiptHandle"])


def sqs_event(messages: list[dict]) -> dict:
    event = load_event("print_batch.json")
    template = event["Records"][0]
    event["Records"] = [
        {**template, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        for m in messages
    ]
    return event


def seed_letters(letters_by_account: dict[str, int], posting: str = DAY, first: int = 1) -> list[str]:
    """Issued postal invoices with their letters waiting for ``posting``; their numbers."""
    dynamodb, deliveries, numbers = boto3.client("dynamodb"), DeliveryStore(TABLE), []
    sequence = first
    for account, count in letters_by_account.items():
        for _ in range(count):
            issued = invoice("2026-10", "bank_transfer", "postal", account, sequence)
            record = document_record(issued) | {"status": "issued"} | plan_delivery(issued).as_record()
            dynamodb.put_item(TableName=TABLE, Item=clients.to_item(record))
            deliveries.add_letter(date.fromisoformat(posting), issued)
            numbers.append(issued.invoice_number)
            number_account[issued.invoice_number] = account
            sequence += 1
    return numbers


def manifests(prefix: str = "print-batches/") -> dict[str, list[dict]]:
    s3 = boto3.client("s3")
    found = {}
    for entry in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
        if entry["Key"].endswith("manifest.csv"):
            body = s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read().decode("utf-8-sig")
            found[entry["Key"]] = list(csv.DictReader(io.StringIO(body)))
    return found


def manifest_count(prefix: str = "print-batches/") -> Counter:
    return Counter(row["invoice_number"] for rows in manifests(prefix).values() for row in rows)


def statuses(numbers: list[str]) -> dict[str, str]:
    records = InvoiceStore(TABLE, boto3.client("dynamodb")).get_many([(number_account[n], n) for n in numbers])
    return {record["invoice_number"]: record["delivery_status"] for record in records}


number_account: dict[str, str] = {}  # filled by seed_letters


def versions_per_key() -> Counter:
    versions = boto3.client("s3").list_object_versions(Bucket=BUCKET, Prefix="print-batches/").get("Versions", [])
    return Counter(version["Key"] for version in versions)


def assert_each_letter_printed_once(room: PrintRoom, numbers: list[str]) -> None:
    assert manifest_count() == Counter(numbers)  # every letter in exactly one manifest, nothing else
    assert set(statuses(numbers).values()) == {"posted"}
    assert room.posted == Counter(numbers)  # each marked posted once
    assert set(versions_per_key().values()) == {1}  # never a second locked version


# Twelve accounts with 1-3 letters each: 25 letters in batches of at least 4.
ACCOUNTS = {f"acct-{i:02d}": 1 + i % 3 for i in range(12)}


@pytest.fixture
def room(aws) -> PrintRoom:
    return PrintRoom()


def test_a_day_is_paged_into_batches_that_never_split_an_account(room):
    numbers = seed_letters(ACCOUNTS)
    room.run(DAY)
    found = manifests()
    assert len(found) > 1
    for key, rows in found.items():
        assert len({row["batch_id"] for row in rows}) == 1 and rows[0]["batch_id"] in key.replace("/", "-")
        assert [row["sheet"] for row in rows] == [str(i) for i in range(1, len(rows) + 1)]
    accounts_per_batch = [{row["account_id"] for row in rows} for rows in found.values()]
    assert sum(len(accounts) for accounts in accounts_per_batch) == len(ACCOUNTS)  # no account in two batches
    assert all(len(rows) >= 4 for rows in list(found.values())[:-1])
    assert_each_letter_printed_once(room, numbers)


def test_the_planner_records_a_few_batches_per_call_and_queues_the_rest_of_the_day(room):
    seed_letters(ACCOUNTS)
    first = room.schedule(DAY)
    assert (first["batches"], first["planned"], first["continues"]) == (2, False, True)
    room.settle()
    run = PrintRunStore(TABLE).run(date.fromisoformat(DAY))
    assert run.planned and run.batches > 2 and run.written == frozenset(range(1, run.batches + 1))


def test_a_re_run_after_more_letters_arrived_gives_the_same_batches_and_the_next_day_takes_the_new_ones(room):
    numbers = seed_letters(ACCOUNTS)
    room.run(DAY)
    first = PrintRunStore(TABLE).run(date.fromisoformat(DAY))
    written = manifests()
    later = seed_letters({"acct-03": 2, "late-comer": 3}, first=100)  # arrived after the day was planned
    again = room.run(DAY)
    assert again["batches"] == first.batches and PrintRunStore(TABLE).run(first.day) == first
    assert manifests() == written  # no ArchiveMismatch: the same batches, the same bytes
    assert set(statuses(later).values()) == {"batched"}  # waiting, in no batch
    next_day = next_business_day(date.fromisoformat(DAY) + timedelta(days=1)).isoformat()  # 11/3 is 文化の日
    room.run(next_day)
    assert_each_letter_printed_once(room, numbers + later)
    assert {
        row["batch_id"][:10] for rows in manifests().values() for row in rows if row["invoice_number"] in later
    } == {next_day}


def test_a_batch_whose_messages_all_failed_is_finished_by_the_next_days_run(room):
    numbers = seed_letters(ACCOUNTS)
    room.plan_and_lose_every_batch(DAY)
    assert manifest_count() == Counter()
    next_day = next_business_day(date.fromisoformat(DAY) + timedelta(days=1)).isoformat()  # 11/3 is 文化の日
    room.run(next_day)
    assert_each_letter_printed_once(room, numbers)
    posted_on = {
        i["posting_on"]["S"] for i in boto3.client("dynamodb").scan(TableName=TABLE)["Items"] if "posting_on" in i
    }
    assert posted_on == {next_day}  # posted when they were actually printed


@pytest.mark.slow
def test_a_run_killed_at_every_write_and_re_run_prints_every_letter_exactly_once(aws):
    # Given a clean run's count of writes (planner and printer, DynamoDB, S3 and SQS): 2 batches, 2 planner calls
    letters = {"a": 2, "b": 1, "c": 1}
    room = PrintRoom(batch_size=2, batches_per_call=1)
    numbers = seed_letters(letters)
    clean = Faults().install()
    room.run(DAY)
    clean.remove()
    assert_each_letter_printed_once(room, numbers)
    assert clean.writes > 15
    assert set(versions_per_key().values()) == {1}
    # When, for every k, a fresh day's run dies just before its k-th write, is retried, then re-run: each from
    # the world as the clean run left it (restored, so no run works through the ones before it)
    start = Snapshot.take(notices=[])
    day = date.fromisoformat(DAY)
    for k in range(1, clean.writes + 1):
        start.restore()
        day = next_business_day(day + timedelta(days=15))  # past the 14 catch-up days: only its own letters
        room = PrintRoom(batch_size=2, batches_per_call=1)
        numbers = seed_letters(letters, posting=day.isoformat(), first=1 + 10 * k)
        faults = Faults(fail_at=k).install()
        room.run(day.isoformat())
        faults.remove()
        room.run(day.isoformat())
        # Then every letter of the day is in exactly one manifest and was marked posted once
        assert manifest_count(f"print-batches/{day}/") == Counter(numbers), f"killed before write {k}"
        assert set(statuses(numbers).values()) == {"posted"}, f"killed before write {k}"
        assert room.posted == Counter(numbers), f"killed before write {k}"
        assert faults.writes > k  # it died, and the retry went on
        assert set(versions_per_key().values()) == {1}, f"killed before write {k}"


def next_business_day(day: date) -> date:
    while not bank_calendar.is_business_day(day):
        day += timedelta(days=1)
    return day


def test_the_print_batch_event_replays(room):
    seed_letters({"solo": 1})
    room.schedule(DAY)
    result = room.printer.lambda_handler(load_event("print_batch.json"), LambdaContext())
    assert result == {"batchItemFailures": []}
    (rows,) = manifests().values()
    assert [row["account_id"] for row in rows] == ["solo"]
    assert json.loads(load_event("print_batch.json")["Records"][0]["body"])["batch"] == 1
