"""One invoice followed through the logs: the close run's correlation id rides every message, event and log line."""

from __future__ import annotations

import json
import logging
import os

import pytest

from tests.conftest import LambdaContext, load_event
from tests.integration.billing_month import MONTH, Delivery, Month, enable_delivery
from tests.integration.conftest import Api, tap_bus

RUN = f"close/{MONTH}/{LambdaContext.aws_request_id}"  # the scheduled invocation's request id


@pytest.fixture
def log_lines(aws_env):
    """Every line the functions log, as the JSON Powertools writes, at INFO and above."""
    from billing.observability import logger  # imported only now, as conftest's aws_env says

    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def issued_events(aws):
    """Every InvoiceIssued put on the invoicing bus, read from a queue a rule feeds."""
    return tap_bus("issued", ["InvoiceIssued"])


@pytest.fixture
def month(aws, monkeypatch):
    enable_delivery(monkeypatch)
    month = Month()
    month.seed()
    return month


def test_the_issue_messages_carry_the_close_runs_correlation_id(month, log_lines):
    # When the scheduled close starts and fans its pages out
    started = month.close.lambda_handler({"month": MONTH}, LambdaContext())
    month.drain("ACCOUNT_PAGES_QUEUE_URL", month.close)
    # Then it names its run, and every issue message carries it
    assert started["correlation_id"] == RUN
    url = os.environ["ISSUE_INVOICE_QUEUE_URL"]
    bodies = [
        json.loads(m["Body"]) for m in month.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert bodies and {body["correlation_id"] for body in bodies} == {RUN}
    # And so does every line the close logged
    assert log_lines and {line["correlation_id"] for line in log_lines} == {RUN}


def test_one_invoice_is_followed_from_the_close_through_issue_and_delivery_to_its_print_run(
    month, issued_events, log_lines
):
    # Given the month is closed by the scheduled run
    month.run_close()
    # Then each InvoiceIssued names the run that issued it
    events = issued_events()
    assert events and {event["detail"]["correlation_id"] for event in events} == {RUN}
    postal = next(event for event in events if event["detail"]["account_id"] == "transfer-postal")
    number = postal["detail"]["invoice_number"]
    # When EventBridge delivers the postal invoice's event, and the print run of its posting day runs
    delivery = Delivery()
    event = {**load_event("deliver_invoice.json"), "detail": postal["detail"]}
    delivery.deliver_module.lambda_handler(event, LambdaContext())
    delivery.print_day("2026-11-02")
    # Then the invoice's lines in every function carry the run's correlation id and the invoice's number
    followed = [line for line in log_lines if line.get("invoice_number") == number]
    assert {line["message"] for line in followed} >= {"invoice issued", "document delivered", "letter printed"}
    assert {line["correlation_id"] for line in followed} == {RUN}
    # And the print run's own lines are its own
    own = {line["message"] for line in log_lines if line.get("correlation_id") == "print/2026-11-02"}
    assert own >= {"print run planned", "print batch written"}


def test_a_message_sent_before_correlation_ids_is_followed_by_its_message_id(month, log_lines):
    # Given an issue message without a correlation id (queued by the previous version)
    month.close.lambda_handler({"month": MONTH}, LambdaContext())
    month.drain("ACCOUNT_PAGES_QUEUE_URL", month.close)
    url = os.environ["ISSUE_INVOICE_QUEUE_URL"]
    message = month.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    body = json.loads(message["Body"])
    del body["correlation_id"]
    # When it is issued
    month.deliver(month.issue, [{**message, "Body": json.dumps(body)}])
    # Then its lines are followed by the SQS message id
    issued = [line for line in log_lines if line["message"] == "invoice issued"]
    assert [line["correlation_id"] for line in issued] == [message["MessageId"]]


def test_an_operators_retry_is_followed_by_its_request_id(month, log_lines):
    # Given a closed month with one account recorded as failed
    month.run_close()
    month.close.stores.close_runs().record_failure(MONTH, "debit-web", 3, "RuntimeError: boom")
    # When an operator retries the close
    operator = Api("close_runs")
    status, _ = operator.replay("retry_close_run.json", path=f"/v1/close-runs/{MONTH}/retry", params={"month": MONTH})
    # Then the re-sent issue message carries the API request id, as the access log's requestId does
    request_id = load_event("retry_close_run.json")["requestContext"]["requestId"]
    url = os.environ["ISSUE_INVOICE_QUEUE_URL"]
    (message,) = month.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert status == 202
    assert json.loads(message["Body"])["correlation_id"] == request_id
    assert any(line["correlation_id"] == request_id for line in log_lines if line["message"] == "close run retried")
