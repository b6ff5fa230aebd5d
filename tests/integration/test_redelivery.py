"""Delivery heals itself, under moto: what is issued and undelivered is announced again, and a delivery dead
letter is never the end of a notice or a letter."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest

from billing.dal.deliveries import DeliveryStore
from billing.dal.invoices import document_key
from billing.dal.undelivered import stamp, undelivered_attributes
from tests.conftest import LambdaContext, load_event
from tests.integration.billing_month import (
    ACCOUNTS,
    MONTH,
    Delivery,
    Month,
    enable_delivery,
    invoice_item,
    invoices,
    sent_emails,
)
from tests.integration.conftest import TABLE, Api

WEB = sorted(account for account, (_, delivery, _, _) in ACCOUNTS.items() if delivery == "web")
POSTAL = sorted(account for account, (_, delivery, _, _) in ACCOUNTS.items() if delivery == "postal")


class Bus:
    """What the invoicing bus carries: a rule like the delivery's, targeting a queue the test reads."""

    def __init__(self):
        self.sqs, events = boto3.client("sqs"), boto3.client("events")
        self.url = self.sqs.create_queue(QueueName="invoice-issued-seen")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = os.environ["EVENT_BUS_NAME"]
        pattern = {"source": ["invoicing"], "detail-type": ["InvoiceIssued"]}
        events.put_rule(Name="seen", EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule="seen", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def take(self) -> list[dict]:
        """Every event announced since the last take, in full (envelope and detail)."""
        found = []
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found


@pytest.fixture
def bus(aws) -> Bus:
    return Bus()


@pytest.fixture
def closed(aws, bus, monkeypatch):
    """October closed and announced, and none of its InvoiceIssued delivered: every delivery was lost."""
    enable_delivery(monkeypatch)
    month = Month()
    month.seed()
    month.run_close()
    assert len(bus.take()) == len(ACCOUNTS)  # announced once each, and then lost
    return month


@pytest.fixture
def sweeper(aws):
    return Api("sweep_deliveries").module


@pytest.fixture
def operator(aws) -> Api:
    return Api("close_runs")


def sweep(sweeper, grace_seconds: int | None = None) -> dict:
    event = {} if grace_seconds is None else {"grace_seconds": grace_seconds}
    return sweeper.lambda_handler(event, LambdaContext())


def deliver(events: list[dict]) -> None:
    """EventBridge invoking the delivery function with each event (as the rule would)."""
    module = Api("deliver_invoice").module
    for event in events:
        module.lambda_handler({"account": "123456789012", **event}, LambdaContext())  # moto leaves out the account


def close_run(operator: Api) -> dict:
    status, body = operator.replay("get_close_run.json", path=f"/v1/close-runs/{MONTH}", params={"month": MONTH})
    assert status == 200, body
    return body


def retry(operator: Api) -> dict:
    status, body = operator.replay(
        "retry_close_run.json", path=f"/v1/close-runs/{MONTH}/retry", params={"month": MONTH}
    )
    assert status == 202, body
    return body


def dead_letter_queue() -> str:
    return os.environ["DELIVER_INVOICE_DEAD_LETTER_QUEUE_URL"]


def dead_letter(account: str, shape: str, month: str = MONTH) -> None:
    """Park an account's InvoiceIssued in the delivery DLQ as AWS does: the rule's DLQ holds the event, the
    function's OnFailure destination Lambda's invocation record around it."""
    event = load_event("deliver_invoice.json")
    item = invoice_item(account, month)
    event["detail"] |= {
        "account_id": account,
        "month": month,
        "invoice_number": item["invoice_number"]["S"] if item else f"INV-{month.replace('-', '')}-0000099",
    }
    body = event
    if shape == "on_failure":
        body = {
            "version": "1.0",
            "timestamp": "2026-11-01T00:40:00.000Z",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "SES throttled", "errorType": "RuntimeError"},
        }
    boto3.client("sqs").send_message(QueueUrl=dead_letter_queue(), MessageBody=json.dumps(body))


def dead_letters_left() -> list[dict]:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=dead_letter_queue(), MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(message["Body"]) for message in found.get("Messages", [])]


def announced(events: list[dict]) -> list[str]:
    return sorted(event["detail"]["account_id"] for event in events)


def test_documents_issued_and_never_delivered_are_announced_again_once_the_grace_has_passed(closed, bus, sweeper):
    # Given a closed month whose InvoiceIssued events were all lost
    # When the sweep runs while they are recent, nothing is announced: their delivery may still be in flight
    assert sweep(sweeper)["announced"] == []
    assert bus.take() == []
    # When it runs once they have waited longer than the grace period (here: a grace of 0)
    swept = sweep(sweeper, grace_seconds=0)
    # Then every issued document of the month is announced again, with what delivery needs from the record
    events = bus.take()
    assert announced(events) == sorted(ACCOUNTS)
    assert sorted(swept["announced"]) == sorted(i["invoice_number"]["S"] for i in invoices().values())
    web_event = next(e for e in events if e["detail"]["account_id"] == WEB[0])
    assert web_event["detail"]["email"] and web_event["detail"]["recipient_line"]
    assert web_event["detail"]["correlation_id"].startswith("sweep/")
    # And delivering them sends one notice per web statement and queues one letter per postal invoice
    deliver(events)
    web_numbers = {invoices()[account]["invoice_number"]["S"] for account in WEB}
    emails = sent_emails()
    assert len(emails) == len(WEB)
    assert {n for n in web_numbers for email in emails if n in email.body} == web_numbers
    for account in POSTAL:
        assert invoices()[account]["delivery_status"]["S"] == "batched"
    # And a sweep after that finds nothing left to deliver
    assert sweep(sweeper, grace_seconds=0) | {"announced": []} == {
        "undelivered": 0,
        "finished": [],
        "not_finished": [],
        "announced": [],
        "not_announced": [],
        "dead_letters_redriven": [],
        "dead_letters_cleared": [],
        "dead_letters_left": 0,
    }
    assert bus.take() == []


def test_announcing_twice_sends_nothing_twice(closed, bus, sweeper):
    # Given two sweeps that each announced every document (the first delivery still running, say)
    sweep(sweeper, grace_seconds=0)
    sweep(sweeper, grace_seconds=0)
    events = bus.take()
    assert len(events) == 2 * len(ACCOUNTS)
    # When every announcement is delivered
    deliver(events)
    # Then each web statement got one notice, and each postal invoice one letter
    assert len(sent_emails()) == len(WEB)
    letters = boto3.client("dynamodb").scan(
        TableName=TABLE,
        FilterExpression="begins_with(pk, :letters)",
        ExpressionAttributeValues={":letters": {"S": "LETTERS#"}},
    )["Items"]
    assert sorted(item["account_id"]["S"] for item in letters) == POSTAL


def test_a_sender_that_died_holding_the_notice_is_healed_by_the_sweep_once_its_lease_lapsed(closed, bus, sweeper):
    # Given a web statement whose sender took the notice's lease and died before sending (its event is gone)
    account = WEB[0]
    number = invoice_item(account)["invoice_number"]["S"]
    assert DeliveryStore(TABLE).take_notice(account, number) is not None
    # When the lease has lapsed and the sweep announces the document again
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key=document_key(account, number),
        UpdateExpression="SET notice_lease_until = :old",
        ExpressionAttributeValues={":old": {"S": "2026-11-01T00:00:00+00:00"}},
    )
    sweep(sweeper, grace_seconds=0)
    deliver([e for e in bus.take() if e["detail"]["account_id"] == account])
    # Then the notice goes out, once, and the document leaves the undelivered index
    assert len(sent_emails()) == 1
    assert "notified_at" in invoice_item(account)
    assert "undelivered_shard" not in invoice_item(account)


@pytest.mark.parametrize("shape", ["rule_dlq", "on_failure"])
def test_a_delivery_dead_letter_is_counted_and_the_close_run_retry_delivers_it(closed, bus, operator, shape):
    # Given a web statement's InvoiceIssued in the delivery DLQ (its retries ran out), and one of another month
    account = WEB[0]
    dead_letter(account, shape)
    dead_letter(account, shape, month="2026-09")  # names no document: left alone
    # Then the close run counts it, with the month's undelivered documents, and needs attention
    run = close_run(operator)
    assert (run["status"], run["delivery_dead_letters"], run["undelivered"]) == ("attention", 1, len(ACCOUNTS))
    assert (run["issued"], run["failed"], run["dead_letters"]) == (len(ACCOUNTS), 0, 0)
    # When an operator retries the close run
    assert retry(operator) == {"month": MONTH, "queued": 0, "redelivered": 1, "failed": []}
    # Then its document is announced again, and the dead letter is gone (the other month's stays)
    events = bus.take()
    assert announced(events) == [account]
    assert [body.get("requestPayload", body)["detail"]["month"] for body in dead_letters_left()] == ["2026-09"]
    # And once delivered, the notice is sent, and the run is done with one document fewer undelivered
    deliver(events)
    assert len(sent_emails()) == 1
    run = close_run(operator)
    assert (run["status"], run["delivery_dead_letters"], run["undelivered"]) == ("done", 0, len(ACCOUNTS) - 1)


def test_a_dead_letter_of_a_document_delivered_since_is_cleared_without_announcing_it(closed, bus, operator):
    # Given a postal invoice dead-lettered, then delivered by a later announcement
    account = POSTAL[0]
    dead_letter(account, "on_failure")
    Delivery().deliver(account)
    # When an operator retries the close run
    assert retry(operator)["redelivered"] == 0
    # Then nothing is announced, and the dead letter is gone
    assert bus.take() == []
    assert dead_letters_left() == []
    assert close_run(operator)["delivery_dead_letters"] == 0


def test_the_sweep_redrives_delivery_dead_letters_and_clears_the_delivered_ones(closed, bus, sweeper):
    # Given a delivered postal invoice's dead letter, and an undelivered web statement's (both from long ago)
    delivered_account, waiting_account = POSTAL[0], WEB[0]
    dead_letter(delivered_account, "rule_dlq")
    Delivery().deliver(delivered_account)
    dead_letter(waiting_account, "on_failure")
    # When the sweep runs with its usual grace (the documents are recent: the index announces nothing)
    swept = sweep(sweeper)
    # Then the undelivered one is announced from its dead letter, the delivered one's letter cleared
    assert swept["announced"] == []
    numbers = {a: invoice_item(a)["invoice_number"]["S"] for a in (delivered_account, waiting_account)}
    assert swept["dead_letters_redriven"] == [numbers[waiting_account]]
    assert swept["dead_letters_cleared"] == [numbers[delivered_account]]
    assert announced(bus.take()) == [waiting_account]
    assert dead_letters_left() == []


def test_corrections_and_return_invoices_wait_in_the_index_until_delivered(closed, bus, sweeper, monkeypatch):
    # Given an invoice delivered, then corrected, and a return against the correction, neither delivered
    desk = Api("invoice_documents")
    account = WEB[0]
    Delivery().deliver(account)
    number = invoice_item(account)["invoice_number"]["S"]
    status, corrected = desk.replay(
        "correct_invoice.json",
        path=f"/v1/invoices/{number}/corrections",
        body={"reason": "締め後に届いた件数報告の反映"},
        headers={"idempotency-key": "fix-1"},
    )
    assert status == 201, corrected
    status, returned = desk.replay(
        "credit_note.json",
        path=f"/v1/invoices/{corrected['invoice_number']}/credit-notes",
        body={"reason": "障害による返金", "amount": 550},
        headers={"idempotency-key": "ret-1"},
    )
    assert status == 201, returned
    bus.take()  # their first announcements, lost
    # When the sweep runs once the grace has passed
    swept = sweep(sweeper, grace_seconds=0)
    documents = {corrected["invoice_number"], returned["invoice_number"]}
    # Then both are announced again (with the month's other undelivered invoices), and delivered once each
    assert documents <= set(swept["announced"]) and number not in swept["announced"]
    deliver([e for e in bus.take() if e["detail"]["invoice_number"] in documents])
    notices = [email.body for email in sent_emails()]
    assert len(notices) == 3  # the original's, the correction's and the return's
    assert not documents & set(sweep(sweeper, grace_seconds=0)["announced"])


def test_the_grace_is_measured_from_when_the_document_was_written():
    at = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    marker = undelivered_attributes("INV-202610-0000001", at)
    assert marker["undelivered_since"] == "2026-11-01T00:30:00.000000Z#INV-202610-0000001"
    assert marker["undelivered_shard"].startswith("UNDELIVERED#")
    # text order is time order, to the microsecond, whatever the offset it was given in
    later = at + timedelta(microseconds=1)
    assert stamp(at) < stamp(later) < stamp((at + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=9))))


class Crash(BaseException):
    """The request's process died (a timeout, say): no clean-up runs."""


def correct(desk: Api, number: str, key: str) -> tuple[int, dict]:
    return desk.replay(
        "correct_invoice.json",
        path=f"/v1/invoices/{number}/corrections",
        body={"reason": "締め後に届いた件数報告の反映"},
        headers={"idempotency-key": key},
    )


def document_item(account: str, number: str) -> dict:
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=document_key(account, number))["Item"]


def test_a_correction_whose_request_died_after_its_transaction_is_finished_by_the_sweep(closed, bus, sweeper):
    # Given a delivered invoice whose correction's request died right after its transaction
    desk = Api("invoice_documents")
    account = WEB[0]
    Delivery().deliver(account)
    original = invoice_item(account)["invoice_number"]["S"]

    def died(invoice):
        raise Crash

    with pytest.MonkeyPatch.context() as patch, pytest.raises(Crash):
        patch.setattr(desk.module.closer(), "archive", died)
        correct(desk, original, "fix-1")
    stored = boto3.client("dynamodb").get_item(TableName=TABLE, Key=document_key(account, original))["Item"]
    correction = stored["replaced_by"]["S"]
    assert document_item(account, correction)["status"]["S"] == "numbered"
    # And the replaced original has left the undelivered index (its correction is awaited instead)
    assert "undelivered_shard" not in stored and "undelivered_since" not in stored
    bus.take()
    # When the sweep runs within the grace period, the request may still be running: nothing is finished
    assert sweep(sweeper)["finished"] == []
    # When it runs once the grace has passed
    swept = sweep(sweeper, grace_seconds=0)
    # Then the correction is finished as its request would have: archived, issued, announced once
    assert swept["finished"] == [correction] and swept["not_finished"] == []
    assert correction not in swept["announced"] and original not in swept["announced"]
    item = document_item(account, correction)
    assert item["status"]["S"] == "issued" and item["announced"]["BOOL"] is True
    assert boto3.client("s3").head_object(Bucket=os.environ["INVOICE_BUCKET"], Key=item["pdf_key"]["S"])
    events = [e for e in bus.take() if e["detail"]["invoice_number"] == correction]
    assert len(events) == 1 and events[0]["detail"]["correlation_id"].startswith("sweep/")
    # And delivering it sends its notice, and it leaves the index: the next sweep has nothing of it
    deliver(events)
    assert sum(correction in email.body for email in sent_emails()) == 1
    assert "undelivered_shard" not in document_item(account, correction)
    again = sweep(sweeper, grace_seconds=0)
    assert correction not in again["finished"] + again["announced"]
    # And the correction can itself be corrected now, while its original stays replaced
    status, body = correct(desk, correction, "fix-2")
    assert status == 201, body
    status, body = correct(desk, original, "fix-3")
    assert status == 409 and body["error"]["code"] == "invoice_replaced", body


def test_a_close_run_again_announces_nothing_for_an_invoice_corrected_since(closed, bus):
    from billing.dal.close_runs import month_closer
    from invoice_pdf.render import render_invoice_pdf

    # Given one invoice of the closed month corrected, and one not
    desk = Api("invoice_documents")
    corrected, kept = WEB[0], WEB[1]
    numbers = {a: invoice_item(a)["invoice_number"]["S"] for a in (corrected, kept)}
    status, body = correct(desk, numbers[corrected], "fix-1")
    assert status == 201, body
    # When the close runs again for both accounts (SQS handed their issue messages out again)
    closer = month_closer(render_invoice_pdf)
    again = {a: closer.close_account(a, MONTH, int(numbers[a].rsplit("-", 1)[1])) for a in (corrected, kept)}
    # Then both are issued, the one still current is announced again, and the replaced one is not
    assert {a: closed.outcome for a, closed in again.items()} == {corrected: "issued", kept: "issued"}
    assert again[corrected].announcement is None
    assert again[kept].announcement["invoice_number"] == numbers[kept]


def test_the_sweeps_quota_counts_only_documents_it_can_act_on(aws):
    from billing.dal.invoice_search import document_shard
    from billing.dal.undelivered import UndeliveredIndex

    # Given, in one shard, an old row the sweep cannot act on (a replaced original from before the correction
    # took it out of the index, a month close's numbered invoice) and a newer issued document
    numbers = [n for n in (f"INV-202610-{i:07d}" for i in range(1, 200)) if document_shard(n) == 0][:3]
    at = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    rows = [("replaced", "invoice"), ("numbered", "invoice"), ("issued", "correction")]
    client = boto3.client("dynamodb")
    for i, (number, (status, kind)) in enumerate(zip(numbers, rows, strict=True)):
        item = {"pk": f"ACCOUNT#acct-{i}", "sk": f"INVOICE#2026-10#{number}", "account_id": f"acct-{i}"}
        item |= {"invoice_number": number, "month": "2026-10", "status": status, "kind": kind}
        item |= undelivered_attributes(number, at + timedelta(seconds=i))
        client.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in item.items()})
    # When the sweep lists with a quota of one row per shard
    found = UndeliveredIndex(TABLE).older_than(at + timedelta(hours=1), 16)
    # Then the one it can act on is listed, not starved by the older ones
    assert [row["invoice_number"] for row in found] == [numbers[2]]


def issue_dead_letter(account: str) -> None:
    """The account's issue message in IssueInvoiceDeadLetterQueue (its tries ran out)."""
    from billing.schema.messages import IssueInvoiceMessage

    sequence = int(invoice_item(account)["invoice_number"]["S"].rsplit("-", 1)[1])
    body = IssueInvoiceMessage(month=MONTH, account_id=account, sequence=sequence).body()
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL"], MessageBody=json.dumps(body)
    )


def messages_in(env: str) -> int:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=os.environ[env], MaxNumberOfMessages=10, VisibilityTimeout=0)
    return len(found.get("Messages", []))


def test_a_retry_whose_reissue_fails_still_redelivers_and_says_what_failed(closed, bus, operator, monkeypatch):
    # Given an issue dead letter and a delivery dead letter of the month, and SQS refusing to send now
    issue_dead_letter(POSTAL[0])
    dead_letter(WEB[0], "on_failure")

    def refused(*args, **kwargs):
        raise RuntimeError("SQS refused the batch")

    monkeypatch.setattr(operator.module, "send_messages", refused)
    # When an operator retries the close run
    # Then it answers 202 (the delivery part was done), naming the part that failed
    assert retry(operator) == {"month": MONTH, "queued": 0, "redelivered": 1, "failed": ["reissue"]}
    assert announced(bus.take()) == [WEB[0]] and dead_letters_left() == []
    # And the issue dead letter is still there, for the next retry
    assert messages_in("ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL") == 1
    assert messages_in("ISSUE_INVOICE_QUEUE_URL") == 0


def test_a_retry_whose_redelivery_fails_still_reissues_and_says_what_failed(closed, bus, operator, monkeypatch):
    # Given an issue dead letter and a delivery dead letter of the month, and the bus refusing events now
    issue_dead_letter(POSTAL[0])
    dead_letter(WEB[0], "on_failure")

    def refused(*args, **kwargs):
        raise RuntimeError("EventBridge unavailable")

    monkeypatch.setattr(operator.module.redelivery(), "announce_all", refused)
    # When an operator retries the close run
    # Then the account is sent to be issued again (and its dead letter gone), and the answer names what failed
    assert retry(operator) == {"month": MONTH, "queued": 1, "redelivered": 0, "failed": ["redeliver"]}
    assert messages_in("ISSUE_INVOICE_QUEUE_URL") == 1
    assert messages_in("ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL") == 0
    # And the delivery dead letter is still there (released), for the next retry or sweep
    assert bus.take() == [] and len(dead_letters_left()) == 1
