"""Handlers under moto, with tables built from template.yaml's own key schema.

The in-process moto gets the local server's two changes (``local.moto_backend``, docs/local-moto.md): a
transaction backs up only the items it names instead of deep-copying every table (a third of the fault
injection's time went there), and moto keeps no per-request models (a worker grew past 1.5 GB). Both answer as
stock moto does (``tests/local_stack/test_moto_backend.py``).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws

from billing.dal import clients, stores
from billing.settings import settings
from local.moto_backend import (
    forget_per_request_models,
    patch_moto_partition_queries,
    patch_moto_transactions,
    require_pinned_moto,
)
from tests.conftest import LambdaContext, assert_documented, load_event, load_function, load_template

require_pinned_moto()
patch_moto_transactions()
patch_moto_partition_queries()
forget_per_request_models()

TABLE = "billing-test"
CUSTOMER_API_URL = "https://customer.example.test"
BUCKET = "invoices-test"
QUEUES = {
    "AccountPagesQueue": "ACCOUNT_PAGES_QUEUE_URL",
    "IssueInvoiceQueue": "ISSUE_INVOICE_QUEUE_URL",
    "IssueInvoiceDeadLetterQueue": "ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL",
    "DeliverInvoiceDeadLetterQueue": "DELIVER_INVOICE_DEAD_LETTER_QUEUE_URL",
    "PrintRunQueue": "PRINT_RUN_QUEUE_URL",
    "PrintBatchQueue": "PRINT_BATCH_QUEUE_URL",
    "DebitRunPagesQueue": "DEBIT_RUN_PAGES_QUEUE_URL",
    "DebitResultsQueue": "DEBIT_RESULTS_QUEUE_URL",
    "BankCreditPagesQueue": "BANK_CREDIT_PAGES_QUEUE_URL",
    "ReminderPagesQueue": "REMINDER_PAGES_QUEUE_URL",
}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": TABLE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "invoicing",
        "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from billing.observability import metrics  # imported only now: it reads POWERTOOLS_* once

    metrics.clear_metrics()  # Powertools keeps metrics per process: start each test empty

    def forget() -> None:
        for cached in (clients.dynamodb, clients.s3, clients.sqs, clients.events, clients.sesv2, settings):
            cached.cache_clear()
        stores.clear()  # each store keeps the client and the names it was built with

    forget()
    yield
    forget()


@pytest.fixture
def aws(aws_env, monkeypatch):
    with mock_aws():
        create_resources(monkeypatch)
        yield


@functools.cache
def _template() -> dict:
    """template.yaml, read once per process: each test only reads it (every test builds its resources)."""
    return load_template()


def create_table(client, name: str = TABLE) -> None:
    """The BillingTable with template.yaml's own keys and indexes, so tests and stack never drift."""
    props = _template()["Resources"]["BillingTable"]["Properties"]
    client.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        StreamSpecification={"StreamEnabled": True, **props["StreamSpecification"]},
    )


def create_resources(monkeypatch) -> None:
    """The template's table, bucket, queues and bus, named through the env vars it sets."""
    resources, sqs, s3 = _template()["Resources"], boto3.client("sqs"), boto3.client("s3")
    create_table(boto3.client("dynamodb"))
    bucket = resources["InvoiceBucket"]["Properties"]
    s3.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
        ObjectLockEnabledForBucket=bucket["ObjectLockEnabled"],
    )
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    monkeypatch.setenv("INVOICE_BUCKET", BUCKET)
    for logical_id, env in QUEUES.items():
        assert resources[logical_id]["Type"] == "AWS::SQS::Queue"
        url = sqs.create_queue(QueueName=logical_id)["QueueUrl"]
        monkeypatch.setenv(env, url)
    bus = boto3.client("events").create_event_bus(Name="invoicing-test")["EventBusArn"]
    monkeypatch.setenv("EVENT_BUS_NAME", bus.rsplit("/", 1)[1])
    parameters = _template()["Parameters"]
    monkeypatch.setenv("ISSUE_MAX_RECEIVE_COUNT", str(parameters["IssueMaxReceiveCount"]["Default"]))
    monkeypatch.setenv("DEBIT_LEAD_BUSINESS_DAYS", str(parameters["DebitLeadBusinessDays"]["Default"]))
    sender = parameters["NotificationSender"]["Default"]
    boto3.client("ses").verify_email_identity(EmailAddress=sender)  # SES sends only from a verified identity
    monkeypatch.setenv("NOTIFICATION_SENDER", sender)
    monkeypatch.setenv("CONFIRMATION_PAGE_URL", CUSTOMER_API_URL)


def tap_bus(name: str, detail_types: list[str]) -> Callable[[], list[dict]]:
    """A queue a rule on the invoicing bus feeds with the events of ``detail_types``: each call returns the
    events put since the last one."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=f"tap-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = os.environ["EVENT_BUS_NAME"]
    pattern = {"source": ["invoicing"], "detail-type": detail_types}
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])

    def read() -> list[dict]:
        found = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(message["Body"]) for message in messages]
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    return read


class Api:
    """Calls one function's handler with API Gateway HTTP API v2 events."""

    def __init__(self, folder: str):
        self.module = load_function(folder)
        # What a module caches of its own (its resolver, a deliverer, a closer); the stores are billing.dal.stores',
        # shared by every module loaded in the test and forgotten after each test (aws_env).
        for name in dir(self.module):
            attr = getattr(self.module, name)
            if isinstance(attr, functools._lru_cache_wrapper):
                attr.cache_clear()

    def replay(self, event_file: str, **changes) -> tuple[int, dict]:
        event = load_event(event_file)
        for key, value in changes.items():
            if key == "body":
                event["body"] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            elif key == "path":
                event["rawPath"] = event["requestContext"]["http"]["path"] = value
            elif key == "headers":
                event["headers"] = {name: header for name, header in {**event["headers"], **value}.items() if header}
            elif key == "query":
                event["queryStringParameters"] = value
                event["rawQueryString"] = urlencode(value)
            else:
                event["pathParameters"] = {**event.get("pathParameters", {}), **value}
        response = self.module.lambda_handler(event, LambdaContext())
        body = json.loads(response["body"])
        assert_documented(event["routeKey"], response["statusCode"], body)
        return response["statusCode"], body


@pytest.fixture
def accounts_api(aws) -> Api:
    return Api("accounts")


@pytest.fixture
def counts_api(aws) -> Api:
    return Api("record_counts")


@pytest.fixture
def closed(aws):
    """acme (standard + bridge, ¥7,700) peaked at 9,000 in October (the first bracket), and October is closed.

    Modules whose month needs more (another bus, other accounts) define their own ``closed``."""
    from tests.integration.billing_month import Month  # it imports this module

    month = Month()
    assert month.accounts.replay("put_account.json")[0] == 201
    month.report("acme", 9_000, "2026-10-10T12:00:00+09:00")
    month.run_close("2026-10")
    return month


@pytest.fixture
def desk(aws) -> Api:
    """The invoice documents function (corrections and return invoices)."""
    return Api("invoice_documents")
