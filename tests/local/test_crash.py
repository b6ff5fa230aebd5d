"""A black-box crash test: `up` is SIGKILLed during the close and during delivery, and nothing is lost or doubled.

`up --endpoint` runs against a moto server of its own, so the data outlives
each kill. The stack is killed three times: while the close is issuing
invoices, while the last deliveries are running, and while a restarted stack
is handling the redelivered events. Each time it is started again against
the same endpoint. When the close has finished, the delivery sweep has run
and the posting day's print run is written:

- every account has one invoice, numbered 1..N without a gap, with one PDF
  version in the Object Lock bucket;
- every web invoice got exactly one notice (not "at most one": a lost one
  fails), and every postal invoice is in exactly one printed letter;
- no dead-letter queue holds anything, and the close run is ``done`` with
  nothing undelivered.

SES is down (its sender identity removed) from before the close until the
close has drained: web deliveries fail, are retried with Lambda's delays
(sped up with ``--async-retry-scale 0.26``, which keeps the retry span longer
than the notice lease's ttl) and end in the delivery dead-letter queue; the
close run says ``attention`` with the web invoices undelivered. Then SES
comes back and the sweep brings every one of them back. The outage also keeps
the kills away from the one window no lease can close (a sender killed after
SES accepted an email and before it recorded it; ``billing.dal.leases``), so
"exactly one" is a property of the product here, not of luck.

A variant by hand: ``CRASH_ACCOUNTS=40 CRASH_KILLS_AT_S=2,5,9 CRASH_SES_OUTAGE=0``
kills each (re)started stack at those seconds after the close starts, with SES up.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest

from billing.bank_calendar import posting_date
from local.client import SignedSession
from local.mailbox import sent_emails
from tests.conftest import load_template
from tests.local.support import new_account_id, profile
from tests.local.test_close_month import previous_month
from tests.local.test_restart import (  # noqa: F401 (moto_endpoint is a fixture)
    close_month,
    invoice_bucket,
    kill_group,
    moto_endpoint,
    pdf_versions,
    run_cli,
    s3_client,
    wait_until_serving,
)
from tests.stacks import RunningStack, start_local_up, stop_local_up

ACCOUNTS = int(os.environ.get("CRASH_ACCOUNTS", "20"))  # two issue batches: room for a kill mid-close on a busy host
KILLS_AT_S = [float(s) for s in os.environ.get("CRASH_KILLS_AT_S", "").split(",") if s]
SES_OUTAGE = os.environ.get("CRASH_SES_OUTAGE", "1") == "1"
RETRY_SCALE = "0.26"  # Lambda's 60 + 120 s retry delays become 15.6 + 31.2 s, still longer than the 45 s lease
SENDER = load_template()["Parameters"]["NotificationSender"]["Default"]


class Moto:
    """The standalone endpoint, read and steered directly (what the test watches, and the SES outage)."""

    def __init__(self, stack: RunningStack):
        config = stack.config
        self.state = json.loads(stack.state_path.read_text())
        self.endpoint = config["endpoint"]
        self.session = boto3.session.Session(
            region_name=config["region"],
            aws_access_key_id=config["aws_access_key_id"],
            aws_secret_access_key=config["aws_secret_access_key"],
        )

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint)

    def resource(self, logical_id: str) -> str:
        return self.state["resources"][logical_id]["ref"]

    def ses_down(self) -> None:
        self.client("ses").delete_identity(Identity=SENDER)

    def ses_up(self) -> None:
        self.client("ses").verify_email_identity(EmailAddress=SENDER)

    def notices_recorded(self, month: str) -> int:
        table = self.resource("BillingTable")
        items = self.client("dynamodb").scan(
            TableName=table,
            FilterExpression="begins_with(sk, :month) AND attribute_exists(notified_at)",
            ExpressionAttributeValues={":month": {"S": f"INVOICE#{month}#"}},
        )["Items"]
        return len(items)

    def queue_depth(self, logical_id: str) -> int:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        url = self.resource(logical_id)
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)


def wait_for(condition, timeout_s: float, what: str, every_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(every_s)


def printed_letters(moto: Moto, report: dict) -> Counter:
    """Each invoice number in the print run's manifests, with how many letters carry it."""
    s3, letters = moto.client("s3"), Counter()
    for batch in report["batches"]:
        bucket, _, prefix = batch["folder"].removeprefix("s3://").partition("/")
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}manifest.csv")["Body"].read().decode("utf-8-sig")
        letters.update(row["invoice_number"] for row in csv.DictReader(io.StringIO(body)))
    return letters


@pytest.mark.slow
def test_killed_during_the_close_and_during_delivery_every_invoice_is_issued_once_and_delivered_once(
    tmp_path: Path,
    moto_endpoint: str,  # noqa: F811 (the fixture)
):
    kills: list[str] = []
    stacks: list[RunningStack] = []
    closing = None

    def start(n: int) -> tuple[RunningStack, Moto]:
        stack = start_local_up(
            tmp_path, "--endpoint", moto_endpoint, "--async-retry-scale", RETRY_SCALE, log_name=f"up-{n}.log"
        )
        stacks.append(stack)
        moto = Moto(stack)
        if SES_OUTAGE:
            moto.ses_down()  # `up` verifies its senders as it starts: the outage goes on
        return stack, moto

    def kill(stack: RunningStack, moto: Moto, when: str) -> int:
        """SIGKILL the stack at once; what it had done by then (PDFs archived, notices recorded)."""
        kill_group(stack)
        archived = len(pdf_versions(stack, month))
        kills.append(f"{when}: {archived} of {ACCOUNTS} PDFs archived, {moto.notices_recorded(month)} notices sent")
        return archived

    try:
        # Given `up --endpoint` on a moto server of its own, and accounts of both channels that reported counts
        stack, moto = start(1)
        api = SignedSession.from_config(stack.config)
        wait_until_serving(api)
        month, moment = previous_month()
        accounts = {}
        for index in range(ACCOUNTS):
            account, delivery = new_account_id("crash"), ("web", "postal")[index % 2]
            assert api.put(f"/v1/accounts/{account}", json=profile(delivery_method=delivery)).status_code == 201
            at = (moment + timedelta(minutes=index)).isoformat()
            report = {"count": 5_000 + 1_000 * index, "observed_at": at}
            assert api.post(f"/v1/accounts/{account}/record-counts", json=report).status_code == 200
            accounts[account] = delivery

        # When the month starts closing, and the stack is killed three times and started again each time
        closing = close_month(stack, moto_endpoint, month)
        started = time.monotonic()
        if KILLS_AT_S:
            for n, at in enumerate(KILLS_AT_S, start=1):
                time.sleep(max(0.0, at - (time.monotonic() - started)))
                kill(stack, moto, f"kill {n} at {at:g} s")
                stack, moto = start(n + 1)
        else:
            # ...while the close is issuing invoices (the first archived object is watched for with one client
            # and a one-key listing: a fresh client and a full listing per look, on a busy host, could let the
            # whole close finish between two looks),
            s3, bucket, prefix = s3_client(stack), invoice_bucket(stack), f"invoices/{month}/"
            wait_for(
                lambda: s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)["KeyCount"] >= 1,
                240,
                "a document archived",
                every_s=0.02,
            )
            assert kill(stack, moto, "during the close") < ACCOUNTS, "not killed in the middle of the close"
            # ...while the last invoices' deliveries run,
            stack, moto = start(2)
            wait_for(lambda: len(pdf_versions(stack, month)) == ACCOUNTS, 300, "every PDF archived")
            time.sleep(1)
            kill(stack, moto, "during delivery")
            # ...and while a restarted stack handles the events the killed one had taken
            stack, moto = start(3)
            wait_until_serving(SignedSession.from_config(stack.config))
            time.sleep(3)
            kill(stack, moto, "during redelivery")
            stack, moto = start(4)
        wait_until_serving(SignedSession.from_config(stack.config))

        # Then the close that was waiting finishes (every web notice dead-lettered while SES is down)
        out, err = closing.communicate(timeout=600)
        assert json.loads(out)["drained"] is True, f"{out}\n{err[-3000:]}\n{stack.log()[-3000:]}"
        operator = SignedSession.from_config(stack.config, principal="operator")
        web_accounts = sum(1 for delivery in accounts.values() if delivery == "web")
        if SES_OUTAGE:
            # and the operator sees it: the web invoices undelivered, their events in the delivery DLQ
            # (all of them, unless a restarted `up` delivered one before the test took its SES identity away again)
            run = operator.get(f"/v1/close-runs/{month}").json()
            assert (run["status"], run["issued"]) == ("attention", ACCOUNTS), run
            assert run["undelivered"] == web_accounts - moto.notices_recorded(month) >= 1, run
            assert run["delivery_dead_letters"] >= 1, run
            moto.ses_up()  # the outage ends
        # And the delivery sweep announces whatever is undelivered and brings back what was dead-lettered
        swept = run_cli(stack, moto_endpoint, "sweep", "--grace-seconds", "0")
        assert swept["ok"] is True, json.dumps(swept, indent=2) + "\n" + "\n".join(kills)
        sweep = swept["runs"]["DeliverySweepFunction.DeliverySweep"]
        if SES_OUTAGE:  # the sweep, not a retry, delivered the dead-lettered notices
            assert sweep["announced"] and sweep["dead_letters_redriven"], sweep
        # And running the close again changes nothing
        rerun = run_cli(stack, moto_endpoint, "close-month", month)
        assert rerun["drained"] is True and not any(rerun["runs"][name].get("error") for name in rerun["runs"])
        # And the posting day's print run is written
        issued_on = (date.fromisoformat(f"{month}-01") + timedelta(days=32)).replace(day=1)
        posting_on = posting_date(issued_on)
        printed = run_cli(stack, moto_endpoint, "print-run", posting_on.isoformat())
        assert printed["ok"] is True, printed

        # Then every account has one invoice, numbered INV-YYYYMM-0000001..N without a gap
        listed = operator.get(
            "/v1/invoices", params={"issued_from": f"{month}-01", "issued_to": issued_on.isoformat(), "limit": 100}
        )
        assert listed.status_code == 200, listed.text
        invoices = [row for row in listed.json()["invoices"] if row["month"] == month and row["kind"] == "invoice"]
        assert sorted(row["account_id"] for row in invoices) == sorted(accounts)
        series = month.replace("-", "")
        numbers = {row["account_id"]: row["invoice_number"] for row in invoices}
        assert sorted(numbers.values()) == [f"INV-{series}-{n:07d}" for n in range(1, ACCOUNTS + 1)]
        # each with one PDF version in the locked bucket
        versions = pdf_versions(stack, month)
        assert len(versions) == ACCOUNTS and set(versions.values()) == {1}, versions
        # and exactly one notice per web invoice, none for a postal one
        web = {numbers[a] for a, delivery in accounts.items() if delivery == "web"}
        postal = {numbers[a] for a, delivery in accounts.items() if delivery == "postal"}
        notices = Counter(
            found.group(0)
            for email in sent_emails(moto_endpoint)
            if (found := re.search(rf"INV-{series}-\d{{7}}", email["body"]))
        )
        assert notices == Counter(dict.fromkeys(web, 1)), f"{notices}\n" + "\n".join(kills)
        # and exactly one printed letter per postal invoice
        assert printed_letters(moto, printed) == Counter(dict.fromkeys(postal, 1))
        # and nothing in any dead-letter queue; the close run is done with nothing left undelivered
        assert moto.queue_depth("DeliverInvoiceDeadLetterQueue") == 0
        assert not any(swept["dead_letters"].values()), swept["dead_letters"]
        run = operator.get(f"/v1/close-runs/{month}").json()
        assert (run["status"], run["undelivered"], run["delivery_dead_letters"]) == ("done", 0, 0), run
        print("\n".join(kills), f"\nswept: {json.dumps(swept['runs'])}")
    finally:
        if closing is not None and closing.poll() is None:
            closing.kill()
            closing.wait()
        for stack in stacks:
            stop_local_up(stack.process)
