"""A debit run's world for counting its AWS calls: direct-debit accounts with an invoice due on a date, the
run planned page by page as DebitRunFunction handles it, and the bank's result imported and applied.

Shared by ``tests/integration/test_debit_run_calls.py`` (the bars, checked call by call) and
``benchmarks/debit_run.py`` (the figures and a projection). Needs moto (``mock_aws``) with the template's
resources and environment, as the integration tests make them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from datetime import date

import boto3
from botocore.client import BaseClient

from billing.dal import stores
from billing.dal.clients import to_item
from billing.debit_wiring import debit_runs, result_order
from billing.payments.debit_runs import RunPage
from billing.schema.messages import DebitResultMessage, DebitRunPageMessage
from local.bank import debit_results
from tests.factories import account_profile, issued_document

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
        item = issued_document(account_id, number, "direct_debit", 5_500, debit_date)
        table.put_item(TableName=os.environ["TABLE_NAME"], Item=to_item(item))


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
    request = (
        boto3.client("s3")
        .get_object(Bucket=os.environ["INVOICE_BUCKET"], Key=f"debit-runs/{debit_date}/request.txt")["Body"]
        .read()
    )
    body = debit_results(request, codes)
    with counted() as calls:
        debit_runs().import_results(debit_date, body)
    for message in received("DEBIT_RESULTS_QUEUE_URL"):
        with counted() as more:
            debit_runs().apply_result(result_order(DebitResultMessage.model_validate(message)))
        calls.update(more)
    return calls
