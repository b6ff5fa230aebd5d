"""`up --endpoint` restarts against an endpoint that already holds the stack, even when killed in the middle of a close.

A developer runs moto (or another AWS-compatible server) on its own and points
`up --endpoint` at it, so the data outlives `up`. Killing `up` with SIGKILL
while a month is closing, then starting it again against the same endpoint,
must find every table, bucket (with Object Lock and PDFs in it), queue, rule,
SES identity and user pool already there, and finish the close with exactly
one invoice, one number, one PDF and at most one email per account.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
import requests

from local.client import SignedSession
from local.mailbox import sent_emails
from tests.local.support import new_account_id, profile
from tests.local.test_close_month import previous_month
from tests.stacks import ROOT, RunningStack, start_local_up, stop_local_up

ACCOUNTS = 24
# A sender killed with the notice's lease fails the redelivered event (LeaseBusy) until the lease lapses (45 s);
# Lambda's retries after 60 and 120 s become 15.6 and 31.2 s, a span still longer than the lease (local.retry_bounds).
FASTER_RETRIES = ("--async-retry-scale", "0.26")
MOTO = """
import sys, threading
from local.moto_backend import LocalMotoServer
server = LocalMotoServer()
server.start()
print(server.url, flush=True)
threading.Event().wait()
"""


@pytest.fixture
def moto_endpoint(tmp_path: Path) -> Iterator[str]:
    """A moto server in a process of its own, so that it outlives the `up` that uses it."""
    with (tmp_path / "moto.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", MOTO], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True
        )
    ready, _, _ = select.select([process.stdout], [], [], 60)
    url = process.stdout.readline().strip() if ready else ""
    try:
        assert url.startswith("http://127.0.0.1:"), (tmp_path / "moto.log").read_text()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(api: SignedSession, timeout_s: float = 120) -> None:
    """On a busy machine the first cold starts can time out; wait for the API to answer as a caller would see it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if api.get("/v1/accounts/nobody-here").status_code == 404:
                return
        except requests.RequestException:  # still starting its functions
            pass
        time.sleep(1)
    pytest.fail("the restarted stack never answered GET /v1/accounts/{id}")


def kill_group(stack: RunningStack) -> None:
    """SIGKILL `up` and its function containers: no clean-up of any kind runs."""
    os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait(timeout=10)  # reaped, so its pid in the state file is gone


def close_month(stack: RunningStack, endpoint: str, month: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "local", "close-month", month, "--endpoint", endpoint, "--state", str(stack.state_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(stack: RunningStack, endpoint: str, *args: str, timeout_s: float = 600) -> dict:
    """``python -m local <args>`` against the stack's endpoint; its JSON summary."""
    result = subprocess.run(
        [sys.executable, "-m", "local", *args, "--endpoint", endpoint, "--state", str(stack.state_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert result.stdout, f"{args}: {result.stderr[-3000:]}\n{stack.log()[-3000:]}"
    return json.loads(result.stdout)


def s3_client(stack: RunningStack):
    config = stack.config
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config["endpoint"],
        region_name=config["region"],
        aws_access_key_id=config["aws_access_key_id"],
        aws_secret_access_key=config["aws_secret_access_key"],
    )


def invoice_bucket(stack: RunningStack) -> str:
    state = json.loads(stack.state_path.read_text())
    return state["resources"]["InvoiceBucket"]["ref"]


def pdf_versions(stack: RunningStack, month: str) -> Counter:
    s3, bucket = s3_client(stack), invoice_bucket(stack)
    versions: Counter = Counter()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=f"invoices/{month}/"):
        for version in page.get("Versions", []):
            if version["Key"].endswith(".pdf"):
                versions[version["Key"]] += 1
    return versions


@pytest.mark.slow
def test_up_restarts_against_the_same_endpoint_mid_close_and_the_close_finishes_once(tmp_path, moto_endpoint):
    # Given `up --endpoint` on a moto server of its own, and accounts that reported counts last month
    stack = start_local_up(tmp_path, "--endpoint", moto_endpoint, *FASTER_RETRIES)
    try:
        api = SignedSession.from_config(stack.config)
        wait_until_serving(api)
        month, moment = previous_month()
        accounts = {}
        for index in range(ACCOUNTS):
            account, delivery = new_account_id("restart"), ("web", "postal")[index % 2]
            assert api.put(f"/v1/accounts/{account}", json=profile(delivery_method=delivery)).status_code == 201
            at = (moment + timedelta(minutes=index)).isoformat()
            report = {"count": 5_000 + 1_000 * index, "observed_at": at}
            assert api.post(f"/v1/accounts/{account}/record-counts", json=report).status_code == 200
            accounts[account] = delivery
        # When the month starts closing, and `up` is killed once some PDFs are archived but not all
        closing = close_month(stack, moto_endpoint, month)
        deadline = time.monotonic() + 240
        while len(pdf_versions(stack, month)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        archived_before_kill = len(pdf_versions(stack, month))
        kill_group(stack)
        assert 0 < archived_before_kill < ACCOUNTS, "not killed in the middle of the close"
    except BaseException:
        stop_local_up(stack.process)
        raise

    # And `up --endpoint` is started again against the same endpoint, which holds every resource and a locked PDF
    again = start_local_up(tmp_path, "--endpoint", moto_endpoint, *FASTER_RETRIES, log_name="up-again.log")
    try:
        assert again.process.poll() is None, again.log()
        wait_until_serving(SignedSession.from_config(again.config))
        # Then the close that was waiting finishes on the new consumers, and running it again changes nothing
        closing.communicate(timeout=400)
        # and what the kill left dead-lettered (the local poller counts an attempt for each event the killed
        # stack had taken) the delivery sweep brings back, as it does on AWS every 15 minutes
        swept = run_cli(again, moto_endpoint, "sweep", "--grace-seconds", "0")
        assert swept["ok"] is True, json.dumps(swept, indent=2)
        rerun = close_month(again, moto_endpoint, month)
        out, err = rerun.communicate(timeout=400)
        assert rerun.returncode == 0, f"{out}\n{err}\n{again.log()}"
        assert json.loads(out)["drained"] is True

        # Every account has exactly one invoice for the month, numbered INV-YYYYMM-0000001..N without a gap
        operator = SignedSession.from_config(again.config, principal="operator")
        issued_on = f"{month}-01"
        next_month = (moment.replace(day=28) + timedelta(days=7)).strftime("%Y-%m-01")
        listed = operator.get("/v1/invoices", params={"issued_from": issued_on, "issued_to": next_month, "limit": 100})
        assert listed.status_code == 200, listed.text
        invoices = [row for row in listed.json()["invoices"] if row["month"] == month and row["kind"] == "invoice"]
        assert sorted(row["account_id"] for row in invoices) == sorted(accounts)
        numbers = sorted(row["invoice_number"] for row in invoices)
        series = month.replace("-", "")
        assert numbers == [f"INV-{series}-{n:07d}" for n in range(1, ACCOUNTS + 1)]
        # each with one PDF version in the locked bucket, under its own account
        versions = pdf_versions(again, month)
        assert set(versions.values()) == {1} and len(versions) == ACCOUNTS
        assert {key.split("/")[2] for key in versions} == set(accounts)
        # and every web statement's notice was sent, none for post. SES is up while `up` is killed, so a kill
        # between SES accepting an email and its `notified_at` being written (the one window no lease closes,
        # billing.dal.leases) sends that notice again once the lease lapses: never lost, and a second copy is the
        # same notice (same body, same recipient, the same SES `notice` tag), recognisable downstream.
        # tests/local/test_crash.py keeps its kills out of that window and asserts exactly one.
        emails = [e for e in sent_emails(moto_endpoint) if re.search(rf"INV-{series}-\d{{7}}", e["body"])]
        copies: dict[str, set] = {}
        for email in emails:
            number = re.search(rf"INV-{series}-\d{{7}}", email["body"]).group(0)
            # the restarted stack listens on another port, so its statements link differs; on AWS it is one URL
            body = re.sub(r"http://127\.0\.0\.1:\d+/", "<statements>/", email["body"])
            copies.setdefault(number, set()).add((email["subject"], body, json.dumps(email["destinations"])))
        web = {row["invoice_number"] for row in invoices if accounts[row["account_id"]] == "web"}
        assert set(copies) == web, sorted(set(copies) ^ web)
        assert all(len(distinct) == 1 for distinct in copies.values()), copies
    finally:
        for process in (closing,):
            if process.poll() is None:
                process.kill()
                process.wait()
        stop_local_up(again.process)
