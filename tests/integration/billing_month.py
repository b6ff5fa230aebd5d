"""A month of the billing cycle under moto, driven through the handlers and queues."""

from __future__ import annotations

import io
import os
from datetime import date

import boto3
from pypdf import PdfReader

from tests.conftest import LambdaContext, load_event
from tests.factories import profile_body
from tests.integration.conftest import BUCKET, TABLE, Api

MONTH = "2026-10"
ACCOUNTS = {
    # account: (payment, delivery, person_name or None, peak)
    "transfer-web": ("bank_transfer", "web", None, 9_500),
    "transfer-postal": ("bank_transfer", "postal", "山田 太郎", 10_001),
    "debit-web": ("direct_debit", "web", "佐藤 花子", 25_000),
    "debit-postal": ("direct_debit", "postal", None, 0),
}


class Month:
    """The platform and the scheduler, driving the handlers through their queues."""

    def __init__(self):
        self.accounts = Api("accounts")
        self.counts = Api("record_counts")
        self.close = Api("close_month").module
        self.issue = Api("issue_invoice").module
        self.sqs = boto3.client("sqs")

    def seed(self):
        for account, (payment, delivery, person, peak) in ACCOUNTS.items():
            status, _ = self.accounts.replay(
                "put_account.json",
                path=f"/v1/accounts/{account}",
                body=profile_body(payment, delivery, person_name=person),
            )
            assert status == 201
            if peak:
                self.report(account, peak, "2026-10-10T12:00:00+09:00")
                self.report(account, peak // 2, "2026-10-31T23:00:00+09:00")

    def report(self, account, count, observed_at):
        return self.counts.replay(
            "record_count.json",
            path=f"/v1/accounts/{account}/record-counts",
            body={"count": count, "observed_at": observed_at},
        )

    def run_close(self, month=MONTH):
        self.close.lambda_handler({"month": month}, LambdaContext())
        self.drain("ACCOUNT_PAGES_QUEUE_URL", self.close)
        self.drain("ISSUE_INVOICE_QUEUE_URL", self.issue)

    def fan_out(self, month=MONTH) -> list:
        """The scheduled close and its pages, up to the issue messages (received, not yet handled)."""
        self.close.lambda_handler({"month": month}, LambdaContext())
        self.drain("ACCOUNT_PAGES_QUEUE_URL", self.close)
        url = os.environ["ISSUE_INVOICE_QUEUE_URL"]
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    def drain(self, queue_env, module, max_rounds=100):
        drain(queue_env, module, max_rounds)

    @staticmethod
    def deliver(module, messages, receive_count=1):
        event = load_event("issue_invoice.json")
        template = event["Records"][0]
        attributes = {**template["attributes"], "ApproximateReceiveCount": str(receive_count)}
        event["Records"] = [
            {
                **template,
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": attributes,
            }
            for m in messages
        ]
        result = module.lambda_handler(event, LambdaContext())
        assert result == {"batchItemFailures": []}, result


def drain(queue_env, module, max_rounds=100):
    """Hand the queue's messages to the function, ten at a time, until it is empty (every one must succeed)."""
    sqs, url = boto3.client("sqs"), os.environ[queue_env]
    for _ in range(max_rounds):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        Month.deliver(module, messages)
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"{queue_env} did not drain")


def invoices():
    """Each account's invoice of the month the close issued (not its corrections or return invoices)."""
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return {
        i["pk"]["S"].split("#")[1]: i
        for i in items
        if i["sk"]["S"].startswith("INVOICE#") and i.get("kind", {}).get("S", "invoice") == "invoice"
    }


def invoice_item(account: str, month: str = MONTH, kind: str = "invoice") -> dict | None:
    """The account's document of the month of that kind (the latest, if several), as stored."""
    response = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :month)",
        ExpressionAttributeValues={":pk": {"S": f"ACCOUNT#{account}"}, ":month": {"S": f"INVOICE#{month}#"}},
        ConsistentRead=True,
    )
    found = [item for item in response["Items"] if item.get("kind", {}).get("S") == kind]
    return found[-1] if found else None


def archived_versions():
    """Every version of every archived file (a second version of one would be a second document)."""
    versions = boto3.client("s3").list_object_versions(Bucket=BUCKET).get("Versions", [])
    return sorted(v["Key"] for v in versions)


def pdf_versions():
    return [key for key in archived_versions() if key.endswith(".pdf")]


def einvoice_versions():
    return [key for key in archived_versions() if key.endswith(".xml")]


def pdf_text(key):
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


SENDER = "billing@example.com"
FIRST_ASYNC_RETRY_S = 60  # Lambda retries a failed asynchronous (EventBridge) invocation after about 1 minute
STATEMENTS_URL = "https://statements.example.test/statements"


def enable_delivery(monkeypatch) -> None:
    """What template.yaml gives the delivery functions, and SES's verified sender."""
    monkeypatch.setenv("NOTIFICATION_SENDER", SENDER)
    monkeypatch.setenv("STATEMENTS_URL", STATEMENTS_URL)
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)


def sent_emails() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sent_messages)


class Delivery:
    """EventBridge's InvoiceIssued deliveries and the scheduled print run with its queues."""

    def __init__(self):
        self.deliver_module = Api("deliver_invoice").module
        self.plan_module = Api("print_run").module
        self.print_module = Api("print_batch").module

    def deliver(self, account_id: str, month: str = MONTH) -> dict:
        event = load_event("deliver_invoice.json")
        number = invoice_item(account_id, month)["invoice_number"]["S"]
        event["detail"] = {**event["detail"], "account_id": account_id, "month": month, "invoice_number": number}
        return self.deliver_module.lambda_handler(event, LambdaContext())

    def deliver_all(self) -> None:
        for account in invoices():
            self.deliver(account)

    def plan_day(self, day: str) -> dict:
        """The scheduled planner call alone: the day's batches recorded (some of them) and queued."""
        return self.plan_module.lambda_handler({**load_event("print_run.json"), "date": day}, LambdaContext())

    def print_day(self, day: str) -> dict:
        """The scheduled print run and everything it fans out: the planner's summary once every batch is handled."""
        self.plan_day(day)
        for _ in range(1000):
            drain("PRINT_RUN_QUEUE_URL", self.plan_module)
            drain("PRINT_BATCH_QUEUE_URL", self.print_module)
            if not any(queue_depth(env) for env in ("PRINT_RUN_QUEUE_URL", "PRINT_BATCH_QUEUE_URL")):
                break
        return written_batches(day)


def queue_depth(queue_env: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=os.environ[queue_env], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def written_batches(day: str) -> dict:
    """The day's print run as recorded: its batches and what each wrote, summed like the old single batch."""
    items = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PRINT#{day}"}},
        ConsistentRead=True,
    )["Items"]
    batches = [
        {
            "batch_id": f"{day}-{int(item['number']['N']):04d}",
            "planned": len(item["letters"]["L"]),
            "letters": int(item["letters_written"]["N"]) if "letters_written" in item else None,
            "envelopes": int(item["envelopes"]["N"]) if "envelopes" in item else None,
            "pdf_key": item.get("pdf_key", {}).get("S"),
            "manifest_key": item.get("manifest_key", {}).get("S"),
        }
        for item in items
        if item["sk"]["S"].startswith("BATCH#")
    ]
    return {
        "batches": batches,
        "letters": sum(batch["letters"] or 0 for batch in batches),
        "envelopes": sum(batch["envelopes"] or 0 for batch in batches),
    }


def customer_api(
    account_id: str | None,
    event_file: str,
    path: str | None = None,
    query: dict | None = None,
    today: date | None = None,
):
    """Call the statements function as API Gateway would after the JWT authorizer passed (its Tokyo ``today``
    pinned when given; ``account_id`` None: a token without the claim)."""
    api = Api("statements_api")
    if today is not None:
        api.module.today = lambda: today
    event = load_event(event_file)
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    if account_id is None:
        del claims["custom:account_id"]
    else:
        claims["custom:account_id"] = account_id
    if path:
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.module.lambda_handler(event, LambdaContext())
    return response
