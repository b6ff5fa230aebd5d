"""Fault injection: fail the k-th AWS call of a flow, let the platform retry, check nothing was lost or doubled.

``Faults`` wraps botocore's one door to AWS (``BaseClient._make_api_call``), so
every call any function makes is counted, whichever client made it. A run
either *fails* call k (it raises before reaching AWS, as a throttle or a
refused connection would) or *kills* the step right after call k succeeded
(``Killed`` is a BaseException, so no ``except Exception`` clean-up runs: the
process is gone, as when Lambda times out).

``Platform`` plays the parts of SQS, EventBridge and the scheduler: it hands
each step its input again until it succeeds, as their retry policies do.
Its own calls (receiving, deleting) are not counted and never fail.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.client import BaseClient
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends

from billing import bank_calendar
from billing.dal import leases
from billing.dal.leases import LeaseBusy
from tests.conftest import LambdaContext, load_event
from tests.integration.conftest import BUCKET, TABLE, Api

# Calls that change something. A kill after any other call leaves the same state as a kill after the last
# of these before it, so kills are tried after these only (failures are tried at every call).
CHANGES = re.compile(r"\.(Put|Update|Delete|TransactWrite|BatchWrite|Send|Copy|Create|Complete|Change)")


def changes(call: str) -> bool:
    return bool(CHANGES.search(call))


class InjectedFault(RuntimeError):
    """The k-th AWS call failed before it reached AWS."""


class Killed(BaseException):
    """The step's process died right after the k-th AWS call succeeded."""


@dataclass
class Snapshot:
    """The mock AWS as it stood at one point, put back before each run: the world is built once per test.

    It keeps what the flows change, and nothing else: the table (moto copies its tables the same way to roll a
    failed transaction back), the bucket's object versions (the flows only add versions, never change one), the
    emails SES accepted and the notices they carried. The queues hold nothing at a snapshot, and a run that ends
    well leaves nothing in them (both are checked), so they need no restoring.
    """

    tables: dict
    versions: dict[str, list]
    emails: list
    notices: list[str]

    @classmethod
    def take(cls, notices: list[str]) -> Snapshot:
        _assert_drained()
        return cls(
            tables=copy.deepcopy(_dynamodb().tables),
            versions={key: list(versions) for key, versions in _bucket_versions().lists()},
            emails=list(_ses().sent_messages),
            notices=list(notices),
        )

    def restore(self) -> None:
        _dynamodb().tables = copy.deepcopy(self.tables)
        store = _bucket_versions()
        for key in set(store) - set(self.versions):
            store.pop(key)
        for key, versions in self.versions.items():
            store.setlist(key, list(versions))
        _ses().sent_messages[:] = self.emails
        _assert_drained()


def _dynamodb():
    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"]


def _bucket_versions():
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[BUCKET].keys


def _ses():
    return ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"]


def _assert_drained() -> None:
    names = [f"ApproximateNumberOfMessages{state}" for state in ("", "NotVisible", "Delayed")]
    for url in aws_client("sqs").list_queues().get("QueueUrls", []):
        counts = aws_client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        assert not any(int(counts[name]) for name in names), f"{url} still holds messages: {counts}"


@dataclass
class Faults:
    at: int | None = None  # the call to hit, counted from 1; None counts only
    mode: str = "fail"  # fail | kill
    calls: list[str] = field(default_factory=list)
    paused: int = 0
    injected: str | None = None  # the call that was hit
    killed_after_sending: str | None = None  # the notice whose SendEmail the kill came right after
    notices: list[str] = field(default_factory=list)  # each email's stable notice id, in sending order
    waited: timedelta = timedelta()  # how far the platform's clock moved on while events waited to come back

    @contextlib.contextmanager
    def installed(self):
        real = BaseClient._make_api_call
        faults = self

        def make_api_call(client, operation, params):
            if faults.paused:
                return faults.sent(operation, params, real(client, operation, params))
            faults.calls.append(f"{client.meta.service_model.service_name}.{operation}")
            hit = len(faults.calls) == faults.at
            if hit and faults.mode == "fail":
                faults.injected = faults.calls[-1]
                raise InjectedFault(f"call {faults.at} ({faults.calls[-1]}) failed")
            try:
                result = faults.sent(operation, params, real(client, operation, params))
            except Exception:
                if hit and faults.mode == "kill":  # refused (a failed condition, a 412): the step dies after the answer
                    faults.injected = faults.calls[-1]
                    raise Killed(f"died after call {faults.at} ({faults.calls[-1]}), which was refused") from None
                raise
            if hit and faults.mode == "kill":
                faults.injected = faults.calls[-1]
                faults.killed_after_sending = faults.notices[-1] if operation == "SendEmail" else None
                raise Killed(f"died after call {faults.at} ({faults.calls[-1]})")
            return result

        real_now = leases.now
        BaseClient._make_api_call = make_api_call
        leases.now = lambda: real_now() + self.waited
        try:
            yield self
        finally:
            BaseClient._make_api_call = real
            leases.now = real_now

    def sent(self, operation: str, params: dict, result: dict) -> dict:
        """Note each email SES accepted, by the stable notice id it carries (moto keeps no tags)."""
        if operation == "SendEmail":
            self.notices.append({t["Name"]: t["Value"] for t in params.get("EmailTags", [])}.get("notice"))
        return result

    @contextlib.contextmanager
    def pause(self):
        """The platform's own calls: not part of the flow, never failed."""
        self.paused += 1
        try:
            yield
        finally:
            self.paused -= 1


RETRY_DELAY = timedelta(minutes=1)  # Lambda's first retry of a failed asynchronous (EventBridge) invocation
MAX_TRIES = 6  # more than any one fault needs: a step failing this often is a bug, not bad luck


class Functions:
    """The functions under test, loaded once (loading one costs more than most runs' calls)."""

    def __init__(self):
        self.close = Api("close_month").module
        self.issue = Api("issue_invoice").module
        self.deliver = Api("deliver_invoice").module
        self.print_run = Api("print_run").module
        self.print_batch = Api("print_batch").module
        self.documents = Api("invoice_documents")
        self.accounts = Api("accounts")
        self.counts = Api("record_counts")
        self.close_runs = Api("close_runs")


class Platform:
    """SQS, EventBridge, the scheduler and an API client: each retries a failed step with the same input."""

    def __init__(self, faults: Faults, functions: Functions):
        self.faults = faults
        self.sqs = aws_client("sqs")
        self.close = functions.close
        self.issue = functions.issue
        self.deliver = functions.deliver
        self.print_run = functions.print_run
        self.print_batch = functions.print_batch
        self.documents = functions.documents
        self.events_queue = self._tap_invoicing_bus()
        self.posting_days: set[str] = set()  # the print schedule runs on each business day a letter waits for

    def _tap_invoicing_bus(self) -> str:
        """A queue that receives every event on the bus, as the delivery rule would."""
        with self.faults.pause():
            url = self.sqs.create_queue(QueueName="invoicing-tap")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events = aws_client("events")
            bus = os.environ["EVENT_BUS_NAME"]
            events.put_rule(Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": ["invoicing"]}))
            events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        return url

    def retried(self, step, *args):
        """Run a step until it succeeds, as its event source would redeliver it."""
        for _ in range(MAX_TRIES):
            try:
                return step(*args)
            except (InjectedFault, Killed):
                continue
            except LeaseBusy:  # the event comes back after Lambda's retry delay
                self.faults.waited += RETRY_DELAY
        raise AssertionError(f"{step.__name__} still failing after {MAX_TRIES} tries")

    # --- the month close -------------------------------------------------------------------------
    def close_month(self, month: str) -> None:
        self.retried(self.close.lambda_handler, {"month": month}, LambdaContext())
        self.drain(os.environ["ACCOUNT_PAGES_QUEUE_URL"], self.close)
        self.drain(os.environ["ISSUE_INVOICE_QUEUE_URL"], self.issue)

    def drain(self, url: str, module) -> None:
        """Hand the queue's messages to the function until none is left, redelivering the ones that failed."""
        for _ in range(200):
            with self.faults.pause():
                messages = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
                ).get("Messages", [])
            if not messages:
                return
            try:
                answer = module.lambda_handler(sqs_event(messages), LambdaContext())
            except (InjectedFault, Killed, BatchProcessingError):
                continue  # the whole invocation failed (or every record did): every message comes back
            failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
            with self.faults.pause():
                for message in messages:
                    if message["MessageId"] not in failed:
                        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"{url} did not drain")

    # --- delivery ------------------------------------------------------------------------------------
    def deliver_announced(self) -> int:
        """Every event the bus received goes to the delivery function, retried until it succeeds."""
        delivered = 0
        while True:
            with self.faults.pause():
                messages = self.sqs.receive_message(QueueUrl=self.events_queue, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
            if not messages:
                return delivered
            for message in messages:
                event = {**load_event("deliver_invoice.json"), **json.loads(message["Body"])}  # moto leaves some out
                if event["detail-type"] == "InvoiceIssued":
                    self.retried(self.deliver.lambda_handler, event, LambdaContext())
                    delivered += 1
                    if event["detail"]["delivery_method"] == "postal":
                        issued_on = date.fromisoformat(event["detail"]["issued_on"])
                        self.posting_days.add(bank_calendar.posting_date(issued_on).isoformat())
                with self.faults.pause():
                    self.sqs.delete_message(QueueUrl=self.events_queue, ReceiptHandle=message["ReceiptHandle"])

    def print_waiting_letters(self) -> None:
        """The print schedule of every posting day a delivered letter named, and the batches it fans out."""
        for day in sorted(self.posting_days):
            self.retried(self.print_run.lambda_handler, {"date": day}, LambdaContext())
            self.drain(os.environ["PRINT_RUN_QUEUE_URL"], self.print_run)
            self.drain(os.environ["PRINT_BATCH_QUEUE_URL"], self.print_batch)

    # --- an operator's requests ----------------------------------------------------------------------
    def request(self, event_file: str, path: str, body: dict, key: str) -> dict:
        """An operator's POST, sent again with the same Idempotency-Key until it is answered."""
        for _ in range(MAX_TRIES):
            try:
                status, answer = self.documents.replay(
                    event_file, path=path, body=body, headers={"idempotency-key": key}
                )
            except (InjectedFault, Killed):
                continue
            if status < 500:
                assert status in (200, 201), (status, answer)
                return answer
        raise AssertionError(f"{path} still failing after {MAX_TRIES} tries")


@functools.cache
def aws_client(service: str):
    """The test's own clients, made once: moto answers them in whichever world is current."""
    return boto3.client(service)


def sqs_event(messages: list[dict]) -> dict:
    event = load_event("issue_invoice.json")
    template = event["Records"][0]
    event["Records"] = [
        {
            **template,
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {**template["attributes"], **m.get("Attributes", {})},
        }
        for m in messages
    ]
    return event


# --- the invariants (docs/architecture.md, "Invariants") ----------------------------------------------------
def state() -> dict:
    """Everything the invariants look at, read without faults."""
    items = []
    for page in aws_client("dynamodb").get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
        items.extend(page["Items"])
    versions = aws_client("s3").list_object_versions(Bucket=BUCKET).get("Versions", [])
    return {"items": items, "versions": [v["Key"] for v in versions], "emails": sent_emails()}


def sent_emails() -> list:
    return list(_ses().sent_messages)


def check_invariants(expected_documents: dict[str, str], faults: Faults) -> dict:
    """Fails on the first broken invariant; returns what it counted.

    ``expected_documents`` maps each document number the flow must end with to its kind.
    """
    now = state()
    documents = [i for i in now["items"] if i["sk"]["S"].startswith("INVOICE#")]
    numbers = Counter(d["invoice_number"]["S"] for d in documents)
    assert all(n == 1 for n in numbers.values()), f"a number used twice: {numbers}"
    assert set(numbers) == set(expected_documents), f"documents {sorted(numbers)} != {sorted(expected_documents)}"
    for d in documents:
        assert d["kind"]["S"] == expected_documents[d["invoice_number"]["S"]], d["invoice_number"]
        assert d["status"]["S"] in ("issued", "replaced"), (d["invoice_number"], d["status"])
    # each month's chain holds exactly what its return invoices gave back, and its current document covers it
    for chain in (i for i in now["items"] if i["sk"]["S"].startswith("CHAIN#")):
        mine = [d for d in documents if d["pk"] == chain["pk"] and d["month"]["S"] == chain["sk"]["S"][len("CHAIN#") :]]
        returns = [d for d in mine if d["kind"]["S"] == "credit_note"]
        returned = (int(chain["returned"]["N"]), int(chain["returned_tax"]["N"]))
        assert returned == (sum(int(d["total"]["N"]) for d in returns), sum(int(d["tax"]["N"]) for d in returns))
        # the current document is the one issued and not replaced (the chain keeps no latest since 40a6ae9)
        (current,) = [d for d in mine if d["kind"]["S"] != "credit_note" and d["status"]["S"] == "issued"]
        assert int(current["total"]["N"]) >= returned[0]
    # one PDF (and one e-invoice) version per document, nothing else archived twice
    archived = Counter(now["versions"])
    assert all(n == 1 for n in archived.values()), f"archived twice: {[k for k, n in archived.items() if n > 1]}"
    for d in documents:
        assert d["pdf_key"]["S"] in archived and d["einvoice_key"]["S"] in archived, d["invoice_number"]
    # nothing stuck: no lease or claim left, every close run done with counters that agree
    for item in now["items"]:
        held = [name for name in item if name.endswith("_lease")]
        assert not held, f"{item['pk']['S']} {item['sk']['S']} still holds {held}"
    # every web document announced by exactly one email; every postal one printed once
    emails = Counter(re.search(r"請求書番号: (\S+)", email.body)[1] for email in now["emails"])
    assert sorted(emails.elements()) == sorted(faults.notices), "each email carries its document's notice id"
    for d in documents:
        number, channel = d["invoice_number"]["S"], d["delivery_method"]["S"]
        if channel == "web":
            # The one window no lease closes: SES accepted the email and the sender died before recording it.
            # The retry sends it again under the same notice id, so the copy can be recognised downstream.
            resent = faults.killed_after_sending == number
            assert emails[number] == (2 if resent else 1), f"{number}: {emails[number]} emails"
            assert "notified_at" in d, number
        else:
            assert emails[number] == 0, f"{number} is postal but was emailed"
            assert d["delivery_status"]["S"] == "posted", f"{number} is {d['delivery_status']['S']}, not posted"
    letters = Counter(i["invoice_number"]["S"] for i in now["items"] if i["pk"]["S"].startswith("LETTERS#"))
    assert all(n == 1 for n in letters.values()), f"a letter twice: {letters}"
    assert set(letters) == {d["invoice_number"]["S"] for d in documents if d["delivery_method"]["S"] == "postal"}
    manifests = Counter()
    s3 = aws_client("s3")
    for key in set(now["versions"]):
        if key.endswith("manifest.csv"):
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8-sig")
            for number in letters:
                manifests[number] += body.count(f",{number},")
    assert all(manifests[n] == 1 for n in letters), f"letters in manifests: {dict(manifests)}"
    unwritten = [i["sk"]["S"] for i in now["items"] if i["sk"]["S"].startswith("BATCH#") and "written_at" not in i]
    assert not unwritten, f"print batches recorded and never written: {unwritten}"
    return {"documents": len(documents), "emails": sum(emails.values()), "letters": len(letters)}
