"""What a debit run and its results cost in AWS calls, counted call by call (the figures benchmarks/ projects).

A run's planning is a Query and a BatchGetItem per page of up to 100 documents, and one transaction per
account; applying a result reads nothing: a paid debit is one transaction and its InvoicePaid, a failed one a
transaction, the transfer request and PaymentFailed. So each added account costs at most 2 calls to plan, and
each result record at most 3 to import and apply, whatever the size of the run.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from datetime import date

import boto3
from botocore.client import BaseClient

from billing.dal import keys, stores
from billing.dal.clients import to_item
from billing.dal.ledger import ledger_fields
from billing.debit_wiring import debit_runs, result_order
from billing.payments.debit_runs import RunPage
from billing.schema.messages import DebitResultMessage, DebitRunPageMessage
from local.bank import debit_results
from tests.factories import account_profile
from tests.integration.conftest import BUCKET, TABLE

DEBIT_DATE = date(2026, 11, 27)
MAX_PLAN_CALLS_PER_ACCOUNT = 2  # the design's bars
MAX_RESULT_CALLS_PER_RECORD = 3


@contextlib.contextmanager
def counted():
    calls: Counter = Counter()
    real = BaseClient._make_api_call

    def make_api_call(client, operation, params):
        calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return real(client, operation, params)

    BaseClient._make_api_call = make_api_call
    try:
        yield calls
    finally:
        BaseClient._make_api_call = real


def seed(accounts: range, debit_date: date) -> None:
    """Direct-debit accounts, each with an issued invoice of ¥5,500 debited on ``debit_date``."""
    table = boto3.client("dynamodb")
    for n in accounts:
        account_id = f"debtor-{n:04d}"
        stores.accounts().create(account_profile("direct_debit", "web", account_id=account_id))
        number = f"INV-202610-{n + 1:07d}"
        item = {
            "pk": keys.account_pk(account_id),
            "sk": keys.document_sk(number),
            "invoice_number": number,
            "account_id": account_id,
            "month": "2026-10",
            "payment_method": "direct_debit",
            "status": "issued",
            **ledger_fields(account_id, number, 5_500, debit_date),
        }
        table.put_item(TableName=TABLE, Item=to_item(item))


def received(queue_env: str) -> list[dict]:
    sqs, url, found = boto3.client("sqs"), os.environ[queue_env], []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(message["Body"]) for message in messages]
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def run_calls(debit_date: date) -> Counter:
    """Every call of a run's planning: its start, then each page as DebitRunFunction handles it, the last one
    archiving the file (the queue's receives and deletes are Lambda's, not the function's)."""
    with counted() as calls:
        debit_runs().start(debit_date)
    while bodies := received("DEBIT_RUN_PAGES_QUEUE_URL"):
        for body in bodies:
            page = DebitRunPageMessage.model_validate(body)
            with counted() as more:
                debit_runs().plan_page(RunPage(page.debit_date, page.shard, page.cursor))
            calls.update(more)
    return calls


def result_calls(debit_date: date, codes: dict[str, str]) -> Counter:
    """Every call of importing the bank's result for the run and applying each record's result."""
    request = boto3.client("s3").get_object(Bucket=BUCKET, Key=f"debit-runs/{debit_date}/request.txt")["Body"].read()
    body = debit_results(request, codes)
    with counted() as calls:
        debit_runs().import_results(debit_date, body)
    for message in received("DEBIT_RESULTS_QUEUE_URL"):
        with counted() as more:
            debit_runs().apply_result(result_order(DebitResultMessage.model_validate(message)))
        calls.update(more)
    return calls


def test_planning_costs_at_most_2_calls_per_account_and_a_result_at_most_3_per_record(aws):
    # Given 20 direct-debit accounts debited on one date and 60 on another
    small_date, large_date = date(2026, 11, 27), date(2026, 12, 28)
    seed(range(20), small_date)
    seed(range(20, 80), large_date)
    # When each date's run is made
    small, large = run_calls(small_date), run_calls(large_date)
    # Then each account holds its documents in one transaction, and the reads are per page, not per account
    assert (small["dynamodb.TransactWriteItems"], large["dynamodb.TransactWriteItems"]) == (20, 60)
    assert large["dynamodb.BatchGetItem"] <= len(keys.all_shards())  # one per page; every page here is a shard's
    added = sum(large.values()) - sum(small.values())
    assert added / 40 <= MAX_PLAN_CALLS_PER_ACCOUNT, (dict(small), dict(large))
    # When the bank's result for the larger run comes back, half paid and half failed (資金不足)
    numbers = sorted(stores.accounts().get(f"debtor-{n:04d}").customer_number for n in range(20, 80))
    results = result_calls(large_date, {number: "1" for number in numbers[::2]})
    # Then importing and applying it reads nothing per record: at most 3 calls each (a failure: its
    # transaction, the transfer request and PaymentFailed; a payment: its transaction and InvoicePaid)
    assert results["dynamodb.TransactWriteItems"] == 60 and results["sesv2.SendEmail"] == 30
    assert sum(results.values()) / 60 <= MAX_RESULT_CALLS_PER_RECORD, dict(results)
    assert (results["dynamodb.GetItem"], results["dynamodb.Query"]) == (1, 1)  # the run and its parts, once
    print(f"\nplan: {dict(large)}; {added / 40:.2f} calls per added account; results: {dict(results)}")
