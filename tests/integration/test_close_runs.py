"""Close runs an operator can watch and repair: a failed account is retried under its reserved number."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from types import SimpleNamespace

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.conftest import LambdaContext, load_event
from tests.integration.billing_month import ACCOUNTS, MONTH, Month, invoices, pdf_versions
from tests.integration.conftest import TABLE, Api

STUCK = "debit-web"  # the one account whose invoice cannot be issued, until it can


@pytest.fixture
def month(aws):
    month = Month()
    month.seed()
    return month


@pytest.fixture
def operator(aws) -> Api:
    return Api("close_runs")


def close_run(operator: Api, month: str = MONTH) -> tuple[int, dict]:
    return operator.replay("get_close_run.json", path=f"/v1/close-runs/{month}", params={"month": month})


def retry(operator: Api, month: str = MONTH) -> tuple[int, dict]:
    return operator.replay("retry_close_run.json", path=f"/v1/close-runs/{month}/retry", params={"month": month})


def handle(module, messages: list, receive_count: int) -> set[str]:
    """One Lambda invocation of a batch at its ``receive_count``-th delivery; the ids it reported failed."""
    event = load_event("issue_invoice.json")
    template = event["Records"][0]
    attributes = {**template["attributes"], "ApproximateReceiveCount": str(receive_count)}
    event["Records"] = [
        {**template, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        | {"attributes": attributes}
        for m in messages
    ]
    try:
        result = module.lambda_handler(event, LambdaContext())
    except BatchProcessingError:
        return {m["MessageId"] for m in messages}  # every record failed: the whole invocation fails
    return {failure["itemIdentifier"] for failure in result["batchItemFailures"]}


def deliver_until_dead_lettered(month: Month) -> None:
    """SQS with its redrive policy: each failing message is handed out again until its last try, then dead-lettered."""
    sqs, url, dlq = month.sqs, os.environ["ISSUE_INVOICE_QUEUE_URL"], os.environ["ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL"]
    messages = month.fan_out()
    last_try = int(os.environ["ISSUE_MAX_RECEIVE_COUNT"])
    for receive_count in range(1, last_try + 1):
        failed = handle(month.issue, messages, receive_count)
        for done in (m for m in messages if m["MessageId"] not in failed):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=done["ReceiptHandle"])
        messages = [m for m in messages if m["MessageId"] in failed]
    for dead in messages:
        sqs.send_message(QueueUrl=dlq, MessageBody=dead["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=dead["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # nothing left in flight


def dead_letters() -> list[dict]:
    url = os.environ["ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL"]
    found = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def fail_rendering_for(month: Month, account_id: str, monkeypatch) -> None:
    """The renderer fails for that account only, until ``month.issue.closer().render`` is given back."""
    closer = month.issue.closer()
    real = closer.render

    def render(invoice):
        if invoice.account_id == account_id:
            raise RuntimeError("the renderer chokes on this account")
        return real(invoice)

    monkeypatch.setattr(closer, "render", render)


def test_an_account_that_dead_letters_needs_attention_and_a_retry_fills_its_number(month, operator, monkeypatch):
    # Given one account whose invoice fails on every try, until its message is dead-lettered
    real_render = month.issue.closer().render
    fail_rendering_for(month, STUCK, monkeypatch)
    deliver_until_dead_lettered(month)
    # Then the close run needs attention: one failed, one dead letter, the others issued
    status, run = close_run(operator)
    assert status == 200, run
    assert run == {
        "month": MONTH,
        "status": "attention",
        "total": len(ACCOUNTS),
        "issued": len(ACCOUNTS) - 1,
        "skipped": 0,
        "failed": 1,
        "dead_letters": 1,
        "first_number": "INV-202610-0000001",
        "last_number": f"INV-202610-{len(ACCOUNTS):07d}",
        "undelivered": len(ACCOUNTS) - 1,  # issued, and nothing has delivered them yet
        "delivery_dead_letters": 0,
    }
    assert close_run(operator)[1]["dead_letters"] == 1  # looking does not consume the dead letter

    # When the issuer works again and an operator retries (twice: an impatient operator)
    monkeypatch.setattr(month.issue.closer(), "render", real_render)
    assert retry(operator) == (202, {"month": MONTH, "queued": 1, "redelivered": 0, "failed": []})
    assert dead_letters() == []  # the dead letter was re-sent, so it is gone from the DLQ
    assert retry(operator) == (
        202,
        {"month": MONTH, "queued": 1, "redelivered": 0, "failed": []},
    )  # failed until issued
    month.drain("ISSUE_INVOICE_QUEUE_URL", month.issue)

    # Then the run is done, and the month's numbers are exactly 1..N: one invoice and one PDF per account
    status, run = close_run(operator)
    assert (run["status"], run["issued"], run["failed"], run["dead_letters"]) == ("done", len(ACCOUNTS), 0, 0)
    found = invoices()
    assert set(found) == set(ACCOUNTS)
    assert sorted(i["invoice_number"]["S"] for i in found.values()) == [
        f"INV-202610-{n:07d}" for n in range(1, len(ACCOUNTS) + 1)
    ]
    assert pdf_versions() == sorted(i["pdf_key"]["S"] for i in found.values())
    assert retry(operator) == (202, {"month": MONTH, "queued": 0, "redelivered": 0, "failed": []})


def test_a_healthy_close_is_done_with_its_numbers_and_a_retry_queues_nothing(month, operator):
    month.run_close()
    status, run = close_run(operator)
    assert (status, run["status"], run["total"], run["issued"]) == (200, "done", len(ACCOUNTS), len(ACCOUNTS))
    assert (run["first_number"], run["last_number"]) == ("INV-202610-0000001", f"INV-202610-{len(ACCOUNTS):07d}")
    assert retry(operator) == (202, {"month": MONTH, "queued": 0, "redelivered": 0, "failed": []})
    assert month.sqs.receive_message(QueueUrl=os.environ["ISSUE_INVOICE_QUEUE_URL"]).get("Messages") is None


def test_a_close_still_fanning_out_is_running(month, operator):
    month.close.lambda_handler({"month": MONTH}, LambdaContext())  # started; no page fanned out yet
    status, run = close_run(operator)
    assert (status, run["status"], run["total"], run["first_number"], run["last_number"]) == (
        200,
        "running",
        0,
        None,
        None,
    )


def test_a_number_whose_contract_no_longer_covers_the_month_needs_attention(month, operator, monkeypatch):
    # Given an account numbered by its page, whose contract dates were then edited by hand
    usage = month.issue.closer().stores.usage
    real = usage.shut

    def shut(account_id, month_):
        standing = real(account_id, month_)
        return replace(standing, contract=SimpleNamespace(covers=lambda m: False)) if account_id == STUCK else standing

    monkeypatch.setattr(usage, "shut", shut)
    month.run_close()
    # Then its number is not a silent hole: it is a failure with its reason, and the run needs attention
    run = close_run(operator)[1]
    assert (run["status"], run["issued"], run["failed"], run["dead_letters"]) == ("attention", 3, 1, 0)
    [failure] = month.close.stores.close_runs().failures(MONTH)
    assert (failure.account_id, "does not cover 2026-10" in failure.error) == (STUCK, True)
    assert STUCK not in invoices()


def test_the_last_failed_try_is_recorded_once_with_its_number(month, operator, monkeypatch):
    fail_rendering_for(month, STUCK, monkeypatch)
    messages = [m for m in month.fan_out() if json.loads(m["Body"])["account_id"] == STUCK]
    last_try = int(os.environ["ISSUE_MAX_RECEIVE_COUNT"])
    handle(month.issue, messages, last_try)
    handle(month.issue, messages, last_try)  # the same last try delivered twice
    [failure] = month.close.stores.close_runs().failures(MONTH)
    assert (failure.account_id, failure.sequence) == (STUCK, json.loads(messages[0]["Body"])["sequence"])
    assert "renderer chokes" in failure.error
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"MONTH#{MONTH}"}, "sk": {"S": f"CLOSE_FAILED#{STUCK}"}}
    )["Item"]
    assert {"sequence", "error", "failed_at"} <= set(item)


def test_a_month_that_never_started_is_not_found_and_a_bad_month_is_refused(month, operator):
    assert close_run(operator, "2026-09")[0] == 404
    assert close_run(operator, "2026-09")[1]["error"]["code"] == "not_found"
    assert retry(operator, "2026-09")[1]["error"]["code"] == "not_found"
    status, body = close_run(operator, "2026-13")
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_dead_letters_of_other_months_are_left_alone(month, operator):
    month.run_close()
    other = {"month": "2026-09", "account_id": "someone", "sequence": 7}
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL"], MessageBody=json.dumps(other)
    )
    assert close_run(operator)[1]["dead_letters"] == 0
    assert retry(operator)[1]["queued"] == 0
    assert dead_letters() == [other]
