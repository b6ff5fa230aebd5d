"""``python -m local demo``: the main job end to end on a stack of its own.

The steps, each a function:

1. ``seed_accounts``: PUT four billing profiles, one per payment method ×
   delivery method, through the SigV4-signed platform API;
2. ``report_month``: POST a month of hourly record counts through the batch
   endpoint, growing over the month, with one account's spike that is
   deleted an hour later (the peak must still include it);
3. ``read_usage`` and ``print_usage``: GET each account's usage and print it
   as a table, checked against what was reported;
4. ``change_contracts``: one account changes plan from next month (confirmed
   from its email), an operator cancels another; ``close_month``: run the
   month-close schedule and wait for the invoices to be issued and delivered;
   ``run_print_days``: run the daily print schedule (``print-run``) for the
   week after the issue date, each day waiting until its batches are written;
5. ``print_statements``: each customer signs in (JWT) and reads the statement;
   ``contract_summary`` checks the plan change waited and the last invoice is
   final; ``churn_summary`` lists the month's flagged 洗い替え (one account
   deletes every record and registers them again five hours later);
6. ``alert_usage``: in the current month, one account nears the top of its
   fee bracket, then passes it; both usage alerts reach its billing contact;
7. ``fetch_documents``: copy the invoice PDFs and the print batch to ``out/``;
   ``save_statements_page``: save one customer's statements page next to them
   (it opens with the 今月のご利用状況 card).

``out/`` is cleared of the previous run's folders first, so what is there is
this run's month. The demo stops its stack when it is done (``make demo``
must end on its own); with ``--serve`` it keeps serving on port 3000 instead,
recorded in ``.local/stack.json``, so ``python -m local token`` and a browser
or curl can open the live page. Function logs go to ``.local/demo.log``; the
summary goes to stdout.
"""

from __future__ import annotations

import html
import json
import logging
import os
import random
import re
import shutil
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

import requests

from local import bank, debits
from local.client import SignedSession
from local.mailbox import confirmation_token, sent_emails
from local.resources import BUCKET
from local.stack import DEFAULT_STATE, ROOT, LocalStack, stop_signals

TOKYO = ZoneInfo("Asia/Tokyo")
MONTH = "2026-10"
# 50 reports (100 DynamoDB writes) per request, one request at a time: moto serves one call at a time, so
# more senders only lengthen each request, toward the count function's 15 s timeout on a busy machine.
BATCH_SIZE = 50
SENDERS = 1
SEND_ATTEMPTS = 3  # a batch that still timed out is sent again, as the platform's own retry would
# What the demo writes under out/: the buckets' top-level folders and the saved page.
OUTPUT_FOLDERS = ("invoices", "print-batches", "statements", "bank-statements", "receivables")
LIVE_PORT = 3000  # `python -m local up`'s default port, used by --serve


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    company_name: str
    person_name: str | None
    payment_method: str
    delivery_method: str
    start_count: int
    end_count: int
    spike: int = 0  # extra records registered at SPIKE_AT and deleted an hour later
    cleanup_at_day: int | None = None  # from this day on, records are cleaned down to end_count
    rewash_at: datetime | None = None  # 洗い替え: every record deleted here, registered again REWASH_HOURS later
    corporate_number: str | None = (
        None  # 法人番号 (fictional, with a right check digit): the e-invoice's Peppol address
    )
    holder_kana: str | None = None  # a direct debit's account holder, as on the 口座振替依頼書


SPIKE_AT = datetime(2026, 10, 15, 14, 0, tzinfo=TOKYO)
REWASH_AT = datetime(2026, 10, 8, 10, 0, tzinfo=TOKYO)
REWASH_HOURS = 5
REWASH_LEFT = 150  # what is left registered while the list is being re-imported

ACCOUNTS = (
    DemoAccount(
        "sakura-shoji", "株式会社さくら商事", "山田 太郎", "bank_transfer", "postal", 8_200, 9_400, rewash_at=REWASH_AT
    ),
    DemoAccount(
        "aozora-books",
        "青空書房株式会社",
        None,
        "bank_transfer",
        "web",
        18_000,
        23_500,
        corporate_number="4010001234567",
    ),
    DemoAccount("kaede-design", "かえでデザイン合同会社", None, "bank_transfer", "web", 5_000, 6_500),
    DemoAccount(
        "minato-foods",
        "みなと食品株式会社",
        "佐藤 花子",
        "direct_debit",
        "postal",
        42_000,
        38_000,
        cleanup_at_day=20,
        holder_kana="ミナトショクヒン（カ",
    ),
    DemoAccount(
        "hikari-travel",
        "ひかりトラベル株式会社",
        None,
        "direct_debit",
        "web",
        12_000,
        13_000,
        spike=18_000,
        corporate_number="1011001234568",
        holder_kana="ヒカリトラベル（カ",
    ),
)


@dataclass(frozen=True)
class Report:
    account_id: str
    count: int
    observed_at: datetime

    def as_json(self) -> dict:
        return {"account_id": self.account_id, "count": self.count, "observed_at": self.observed_at.isoformat()}


def profile(account: DemoAccount) -> dict:
    contact = {
        "company_name": account.company_name,
        "department": "経理部",
        "postal_code": "100-0005",
        "address": "東京都千代田区丸の内1-1-1",
        "email": f"billing@{account.account_id}.example.co.jp",
        "phone": "03-1234-5678",
    }
    if account.person_name:
        contact["person_name"] = account.person_name
    if account.corporate_number:
        contact["corporate_number"] = account.corporate_number
    body = {
        "plan": "standard",
        "options": ["bridge"] if account.delivery_method == "postal" else [],
        "payment_method": account.payment_method,
        "delivery_method": account.delivery_method,
        "contract_start": "2026-04-01",
        "billing_contact": contact,
    }
    if account.holder_kana:  # fictional accounts at a fictional bank (0009), as on the signed form
        number = f"{zlib.crc32(account.account_id.encode()) % 10_000_000:07d}"
        body["debit_account"] = {
            "bank_code": "0009",
            "branch_code": "015",
            "account_type": "ordinary",
            "account_number": number,
            "holder_kana": account.holder_kana,
        }
    return body


# ------------------------------------------------------------------ the month's counts


def next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def month_hours(month: str) -> list[datetime]:
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=TOKYO)
    end = (start + timedelta(days=32)).replace(day=1)
    hours, moment = [], start
    while moment < end:
        hours.append(moment)
        moment += timedelta(hours=1)
    return hours


def counts_for(account: DemoAccount, month: str, rng: random.Random) -> list[Report]:
    """Roughly hourly counts: a steady trend with noise, plus the account's spike or clean-up."""
    hours = month_hours(month)
    reports = []
    for index, hour in enumerate(hours):
        progress = index / (len(hours) - 1)
        if account.cleanup_at_day and hour.day >= account.cleanup_at_day:
            count = account.end_count
        elif account.cleanup_at_day:
            count = account.start_count + int(3_000 * progress)
        else:
            count = account.start_count + int((account.end_count - account.start_count) * progress)
        count += rng.randint(-40, 40)
        if account.rewash_at and timedelta(0) <= hour - account.rewash_at < timedelta(hours=REWASH_HOURS):
            count = REWASH_LEFT
        observed_at = hour + timedelta(minutes=rng.randint(0, 50), seconds=rng.randint(0, 59))
        if account.spike and hour == SPIKE_AT:
            reports.append(Report(account.account_id, count + account.spike, SPIKE_AT + timedelta(minutes=1)))
        reports.append(Report(account.account_id, max(count, 0), observed_at))
    return reports


def expected_usage(reports: list[Report]) -> dict:
    peak = min(reports, key=lambda report: (-report.count, report.observed_at))
    last = max(reports, key=lambda report: (report.observed_at, report.count))
    return {"peak": peak.count, "peak_observed_at": peak.observed_at, "last_count": last.count}


# ------------------------------------------------------------------ steps


def seed_accounts(api: SignedSession, accounts: tuple[DemoAccount, ...] = ACCOUNTS) -> None:
    for account in accounts:
        response = api.put(f"/v1/accounts/{account.account_id}", json=profile(account))
        response.raise_for_status()
    print(f"seeded {len(accounts)} accounts (payment method × delivery method)")


def report_month(config: dict, month: str = MONTH, seed: int = 202610) -> dict[str, dict]:
    """Send a month of counts in batches of BATCH_SIZE; the expected usage per account."""
    rng = random.Random(seed)
    per_account = {account.account_id: counts_for(account, month, rng) for account in ACCOUNTS}
    everything = sorted((report for reports in per_account.values() for report in reports), key=lambda r: r.observed_at)
    batches = [everything[index : index + BATCH_SIZE] for index in range(0, len(everything), BATCH_SIZE)]

    def send(batch: list[Report]) -> list[int]:
        body = {"reports": [report.as_json() for report in batch]}
        with SignedSession.from_config(config) as api:
            for attempt in range(1, SEND_ATTEMPTS + 1):
                response = api.post("/v1/record-counts", json=body)
                if response.status_code < 500 or attempt == SEND_ATTEMPTS:
                    break
                # A report is a maximum: sending the batch again changes nothing it already recorded.
                print(f"  batch answered {response.status_code}; sending it again", file=sys.stderr)
            response.raise_for_status()
            return [result["status"] for result in response.json()["results"]]

    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        statuses = [status for batch_statuses in pool.map(send, batches) for status in batch_statuses]
    refused = len([status for status in statuses if status != 200])
    print(
        f"reported {len(everything):,} counts for {month} in {len(batches)} batches "
        f"({time.perf_counter() - started:.1f}s, {refused} refused)"
    )
    return {account_id: expected_usage(reports) for account_id, reports in per_account.items()}


def read_usage(api: SignedSession, month: str = MONTH) -> dict[str, dict]:
    usage = {}
    for account in ACCOUNTS:
        response = api.get(f"/v1/accounts/{account.account_id}/usage/{month}")
        response.raise_for_status()
        usage[account.account_id] = response.json()
    return usage


def print_usage(usage: dict[str, dict], expected: dict[str, dict], month: str = MONTH) -> list[str]:
    """Print the month as a table; return the differences from what was reported (none expected)."""
    columns = ("account", "payment", "delivery", "peak", "peak observed at (JST)", "opening", "last", "check")
    rows, problems = [], []
    for account in ACCOUNTS:
        got, want = usage[account.account_id], expected[account.account_id]
        peak_at = datetime.fromisoformat(got["peak_observed_at"])
        ok = (got["peak"], peak_at, got["last_count"]) == (want["peak"], want["peak_observed_at"], want["last_count"])
        if not ok:
            problems.append(f"{account.account_id}: API says {got}, reports say {want}")
        rows.append(
            (
                account.account_id,
                account.payment_method,
                account.delivery_method,
                f"{got['peak']:,}",
                peak_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S"),
                f"{got['opening_count']:,}",
                f"{got['last_count']:,}",
                "ok" if ok else "MISMATCH",
            )
        )
    print(f"\nusage for {month}")
    _print_table(columns, rows, numeric={3, 5, 6})
    spiky = [account.account_id for account in ACCOUNTS if account.spike]
    if spiky:
        print(
            f"\n{', '.join(spiky)}: the spike at {SPIKE_AT:%m-%d %H:%M} was deleted an hour later;"
            " it still sets the peak"
        )
    return problems


PLAN_CHANGE = ("aozora-books", {"plan": "premium", "options": ["dedicated_ip"]})
CANCELLATION = ("sakura-shoji", {"received_on": "2026-09-20"})  # its 6-month term ran through 2026-09


def change_contracts(stack: LocalStack, api: SignedSession, operator: SignedSession, month: str = MONTH) -> None:
    """Before the close: a plan change for next month (confirmed from its email) and a cancellation."""
    account_id, changes = PLAN_CHANGE
    following = next_month(month)
    response = api.post(
        f"/v1/accounts/{account_id}/change-requests", json={"changes": changes, "effective_month": following}
    )
    response.raise_for_status()
    request = response.json()
    token = confirmation_token(stack.endpoint, request["change_request_id"])
    confirmed = api.post(f"/v1/change-requests/{request['change_request_id']}/confirm", json={"token": token})
    confirmed.raise_for_status()
    print(
        f"\n{account_id}: plan change {json.dumps(changes, ensure_ascii=False)} requested and confirmed from its email;"
        f" effective from {confirmed.json()['effective_month']}"
    )
    account_id, body = CANCELLATION
    response = operator.post(f"/v1/accounts/{account_id}/cancellation", json=body)
    response.raise_for_status()
    cancellation = response.json()
    print(
        f"{account_id}: cancellation received {cancellation['received_on']} (operator);"
        f" earliest end {cancellation['earliest_end_month']}, contract ends {cancellation['contract_end']}"
    )


LATE_REPORT = ("aozora-books", 45_000, "2026-10-31T23:30:00+09:00")  # arrives after October closed
RETURN = ("hikari-travel", 1_100, "10月15日の配信遅延に対する補償")


def fix_what_was_issued(api: SignedSession, operator: SignedSession, month: str = MONTH) -> list[str]:
    """After the close: a late report, the correction it suggests, and a return invoice; the problems."""
    account_id, count, observed_at = LATE_REPORT
    late = api.post(f"/v1/accounts/{account_id}/record-counts", json={"count": count, "observed_at": observed_at})
    usage = api.get(f"/v1/accounts/{account_id}/usage/{month}").json()
    print(
        f"\nlate report for {account_id}: {count:,} observed {observed_at} answers {late.status_code}"
        f" {late.json()['error']['code']}; the month keeps it: late_reports={usage['late_reports']},"
        f" correction_suggested={usage['correction_suggested']}"
    )
    suggested = _issued_invoices(operator, month, correction_suggested="true")
    if not usage["correction_suggested"] or [row["account_id"] for row in suggested] != [account_id]:
        return [f"{account_id}: the late report did not suggest exactly its invoice's correction"]
    original = suggested[0]["invoice_number"]
    corrected = operator.post(
        f"/v1/invoices/{original}/corrections",
        json={"reason": "締め後に届いた10月31日の件数報告を反映"},
        headers={"Idempotency-Key": f"demo-correct-{original}"},
    )
    corrected.raise_for_status()
    body = corrected.json()
    print(f"  operator corrected {original} → {body['invoice_number']} ({body['kind']}), total ¥{body['total']:,}")

    account_id, amount, reason = RETURN
    invoice = next(
        row["invoice_number"] for row in _issued_invoices(operator, month) if row["account_id"] == account_id
    )
    returned = operator.post(
        f"/v1/invoices/{invoice}/credit-notes",
        json={"reason": reason, "amount": amount},
        headers={"Idempotency-Key": f"demo-return-{invoice}"},
    )
    returned.raise_for_status()
    body = returned.json()
    print(f"  operator returned ¥{body['total']:,} (tax ¥{body['tax']:,}) of {invoice}: {body['invoice_number']}")
    return []


DEBIT_FAILS = "hikari-travel"  # the bank answers 1 (資金不足) for it; every other debit goes through


def collect_debits(stack: LocalStack, operator: SignedSession, statements: list[dict], out: Path) -> list[str]:
    """The month's debit run as the operator works it: the request file, the bank's result (one debit paid, one
    failed for 資金不足), each invoice's payment state, and the failed account's transfer request."""
    debited = {row["account"]: row for row in statements if row.get("debit_on")}
    (debit_date,) = {row["debit_on"] for row in debited.values()}
    print(f"\ndebit run for {debit_date} (operator: POST /v1/debit-runs)")
    ok, run = debits.debit_run(operator, debit_date, out, progress=lambda line: print(f"  {line}"))
    if not ok:
        return [f"debit run {debit_date}: {run}"]
    request = Path(run["saved_to"])
    failing = operator.get(f"/v1/accounts/{DEBIT_FAILS}").json()["customer_number"]
    result = request.with_name("result.txt")
    result.write_bytes(bank.debit_results(request.read_bytes(), {failing: "1"}))
    ok, summary = debits.debit_results(operator, debit_date, result.read_bytes())
    if not ok:
        return [f"debit results {debit_date}: {summary}"]
    print(
        f"  the bank's result ({result}): {summary['paid']} paid, {summary['failed']} failed,"
        f" by code {summary['by_code']}, ¥{summary['amount_paid']:,} collected"
    )
    states = {}
    for account in debited:
        states[account] = _settled_state(operator, account)
    for account, state in states.items():
        print(f"  {account}: {state['payment_status']}, balance ¥{state['balance']:,}, pay by {state['pay_by']}")
    expected = {account: "debit_failed" if account == DEBIT_FAILS else "paid" for account in debited}
    problems = [
        f"{account}: {states[account]['payment_status']}, expected {status}"
        for account, status in expected.items()
        if states[account]["payment_status"] != status
    ]
    asked = [e for e in sent_emails(stack.endpoint) if "お振込のお願い" in e["subject"] and failing in e["body"]]
    if len(asked) != 1:
        return [*problems, f"{DEBIT_FAILS}: {len(asked)} transfer requests sent, expected 1"]
    print(f"\ntransfer request to {DEBIT_FAILS} ({asked[0]['subject']}):")
    print("\n".join(f"  | {line}" for line in asked[0]["body"].splitlines()))
    return problems


PAID_BY_NAME = "sakura-shoji"  # its contact, 山田 太郎, pays in his own name: the operator teaches it once
SHORT_BY_FEE = 440  # what the payer's bank kept of kaede-design's transfer
STRANGER = ("ｶ)ﾎｼﾉｼﾖｳｶｲ", 3_300)  # a transfer nobody expects: it waits in the review queue


def collect_transfers(stack: LocalStack, operator: SignedSession, out: Path) -> list[str]:
    """The bank's files as the operator works them: a transfer under an unknown name given to its account (the name
    learned), then a day's 振込入金通知 that pays by customer number, by the learned name, short by a bank fee, and
    from a stranger; the reminders for the account that never paid; the receivables CSV."""
    rows = _open_documents(operator)
    owed = {}
    for row in rows:
        if row.get("balance"):
            owed[row["account_id"]] = owed.get(row["account_id"], 0) + row["balance"]
    number = {a: operator.get(f"/v1/accounts/{a}").json()["customer_number"] for a in owed}
    folder = out / "bank-statements"
    folder.mkdir(parents=True, exist_ok=True)

    print("\nbank transfers (operator: POST /v1/bank-statements)")
    first = bank.transfer_notice([_transfer(1, "081201", 3_000, "ﾔﾏﾀﾞ ﾀﾛｳ")], created="081201")
    summary, problems = _import(operator, folder / "2026-12-01.txt", first)
    queue = _payments(operator, "unmatched")
    if summary.get("unmatched") != 1 or len(queue) != 1:
        return [*problems, f"the 12/01 file should leave one payment to place: {summary}, {queue}"]
    allocated = operator.post(f"/v1/payments/{queue[0]['payment_id']}/allocation", json={"account_id": PAID_BY_NAME})
    print(f"  the operator gives ﾔﾏﾀﾞ ﾀﾛｳ's ¥3,000 to {PAID_BY_NAME}: {allocated.status_code}, the name is learned")

    second = bank.transfer_notice(
        [
            _transfer(2, "081202", owed["aozora-books"], "ｱｵｿﾞﾗｼﾖﾎﾞｳ", payer_code=number["aozora-books"]),
            _transfer(3, "081202", owed[PAID_BY_NAME] - 3_000, "ﾔﾏﾀﾞ ﾀﾛｳ"),
            _transfer(4, "081202", owed["kaede-design"] - SHORT_BY_FEE, f"{number['kaede-design']} ｶｴﾃﾞﾃﾞｻﾞｲﾝ"),
            _transfer(5, "081202", STRANGER[1], STRANGER[0]),
        ],
        created="081202",
    )
    summary, more = _import(operator, folder / "2026-12-02.txt", second)
    problems += more
    again, _ = _import(operator, folder / "2026-12-02.txt", second, label="the same file again")
    if again.get("duplicates") != 4 or again.get("imported") != 0:
        problems.append(f"the same file again imported something: {again}")
    queue = _payments(operator, "unmatched")
    print(f"  review queue (GET /v1/payments?status=unmatched): {[(p['payer_name'], p['amount']) for p in queue]}")
    expected = {"aozora-books": "paid", PAID_BY_NAME: "paid", "kaede-design": "partially_paid"}
    for account, status in expected.items():
        state = _account_state(operator, rows, account)
        print(f"  {account}: {state['payment_status']}, balance ¥{state['balance']:,}")
        if state["payment_status"] != status:
            problems.append(f"{account}: {state['payment_status']}, expected {status}")
    problems += _remind(stack, operator, rows)
    problems += _save_receivables(operator, out)
    return problems


def _transfer(inquiry: int, booked: str, amount: int, payer_name: str, payer_code: str = "") -> dict:
    return {
        "inquiry_number": f"{inquiry:06d}",
        "booked_on": booked,
        "amount": amount,
        "payer_name": payer_name,
        "payer_code": payer_code,
    }


def _import(operator: SignedSession, path: Path, body: bytes, label: str = "") -> tuple[dict, list[str]]:
    path.write_bytes(body)
    answer = operator.post("/v1/bank-statements", data=body, headers=debits.OCTET_STREAM)
    summary = answer.json()
    print(f"  {path.name}{f' ({label})' if label else ''}: {answer.status_code} {json.dumps(summary)}")
    return summary, [] if answer.status_code == 200 else [f"{path}: {answer.status_code} {summary}"]


def _payments(operator: SignedSession, status: str) -> list[dict]:
    query = {"status": status, "received_from": "2026-12-01", "received_to": "2026-12-31"}
    return operator.get("/v1/payments", params=query).json()["payments"]


def _open_documents(operator: SignedSession) -> list[dict]:
    """Every invoice and correction issued since the close that still owes something, from the invoice desk."""
    query = {"issued_from": f"{next_month(MONTH)}-01", "issued_to": "2026-12-31", "limit": "100"}
    rows = operator.get("/v1/invoices", params=query).json()["invoices"]
    return [row for row in rows if row.get("balance")]


def _account_state(operator: SignedSession, rows: list[dict], account_id: str) -> dict:
    """The payment state of the account's document that owed something before the bank's files came."""
    (row,) = [r for r in rows if r["account_id"] == account_id]
    return operator.get(f"/v1/invoices/{row['invoice_number']}").json()


def _remind(stack: LocalStack, operator: SignedSession, rows: list[dict]) -> list[str]:
    """The reminder run on the day the never-paying account's first reminder is due, and the email it sent."""
    from billing.bank_calendar import business_days_after  # the bank module put the domain layer on the path

    state = _account_state(operator, rows, DEBIT_FAILS)
    day = business_days_after(date.fromisoformat(state["pay_by"]), 3)  # level 1 of the ladder
    report = stack.run_schedule("ReminderSchedule", day.isoformat())
    if not report.ok:
        return [f"the reminder run of {day} did not finish cleanly: {json.dumps(report.as_json())}"]
    print(f"\nreminders (ReminderSchedule, python -m local reminders {day}): {DEBIT_FAILS} never paid")
    reminded = [e for e in sent_emails(stack.endpoint) if state["invoice_number"] in e["subject"]]
    if len(reminded) != 1:
        return [f"{DEBIT_FAILS}: {len(reminded)} reminders sent on {day}, expected 1"]
    print(f"  {reminded[0]['subject']}")
    print("\n".join(f"  | {line}" for line in reminded[0]["body"].splitlines()))
    return []


def _save_receivables(operator: SignedSession, out: Path) -> list[str]:
    answer = operator.get("/v1/receivables", params={"as_of": "2026-12-31", "format": "csv"})
    path = out / "receivables" / "receivables_2026-12-31.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(answer.content)
    print(f"\nreceivables ageing as of 2026-12-31 (GET /v1/receivables?format=csv): {path}")
    print("\n".join(f"  {line}" for line in answer.content.decode("utf-8-sig").splitlines()))
    return [] if answer.status_code == 200 else [f"receivables: {answer.status_code}"]


def _settled_state(operator: SignedSession, account_id: str, timeout_s: float = 60) -> dict:
    """The payment state of the account's latest document once the debit result has been applied to it."""
    (row,) = [row for row in _issued_invoices(operator, MONTH) if row["account_id"] == account_id]
    deadline = time.monotonic() + timeout_s
    while True:
        state = operator.get(f"/v1/invoices/{row['invoice_number']}").json()
        if state["payment_status"] != "collecting" or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def _issued_invoices(operator: SignedSession, month: str, **conditions: str) -> list[dict]:
    """The invoice desk's list of what the month's close issued (on the 1st of the next month)."""
    issued_on = f"{next_month(month)}-01"
    response = operator.get("/v1/invoices", params={"issued_from": issued_on, "issued_to": issued_on, **conditions})
    response.raise_for_status()
    return response.json()["invoices"]


def churn_summary(operator: SignedSession, month: str = MONTH, timeout_s: float = 120) -> list[str]:
    """The month's suspected 洗い替え as operators list them (the stream consumer may still be catching up)."""
    expected = {account.account_id for account in ACCOUNTS if account.rewash_at}
    deadline = time.monotonic() + timeout_s
    while True:
        response = operator.get("/v1/churn-events", params={"month": month})
        response.raise_for_status()
        events = response.json()["churn_events"]
        if {event["account_id"] for event in events} >= expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    print(f"\nsuspected 洗い替え in {month} (GET /v1/churn-events, operator; billing does not change)")
    for event in events:
        print(
            f"  {event['account_id']}: {event['from']:,} at {event['dropped_at']} → {event['to']:,},"
            f" back to {event['back_to']:,} at {event['recovered_at']}"
        )
    flagged = {event["account_id"] for event in events}
    problems = [f"{account}: its 洗い替え was not flagged" for account in expected - flagged]
    problems += [f"{account}: flagged without a 洗い替え" for account in flagged - expected]
    return problems


def contract_summary(api: SignedSession, statements: list[dict], month: str = MONTH) -> list[str]:
    """What the contract changes did to the month's invoices, checked; the problems (none expected)."""
    problems = []
    by_account = {row["account"]: row for row in statements}
    account_id, changes = PLAN_CHANGE
    billed = api.get(f"/v1/accounts/{account_id}", params={"month": month}).json()
    following = api.get(f"/v1/accounts/{account_id}", params={"month": next_month(month)}).json()
    print(f"\ncontracts after the close of {month}")
    print(
        f"  {account_id}: {month} billed on {billed['plan']} {billed['options']}; from {next_month(month)}:"
        f" {following['plan']} {following['options']}"
    )
    if (billed["plan"], following["plan"]) != ("standard", changes["plan"]):
        problems.append(f"{account_id}: the plan change did not wait for {next_month(month)}")
    account_id, _ = CANCELLATION
    final = by_account[account_id]
    print(f"  {account_id}: {final['invoice_number']} is the final invoice (最終請求): final={final['final']}")
    if not final["final"]:
        problems.append(f"{account_id}: the last month's invoice is not marked final")
    refused = api.post(
        f"/v1/accounts/{account_id}/record-counts",
        json={"count": 1, "observed_at": f"{next_month(month)}-02T09:00:00+09:00"},
    )
    print(f"  {account_id}: a count after the end answers {refused.status_code} {refused.json()['error']['code']}")
    if refused.status_code != 409:
        problems.append(f"{account_id}: a count after the contract ended was not refused")
    return problems


def alert_usage(stack: LocalStack, api: SignedSession, timeout_s: float = 60) -> list[str]:
    """This month, the page's account nears its bracket's top, then passes it: both usage alerts reach its billing
    contact (the stream's usage watch sends them), and the usage API shows the estimate and the alerts."""
    account_id = page_account().account_id
    now = datetime.now(TOKYO)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = f"{now:%Y-%m}"
    usage = api.get(f"/v1/accounts/{account_id}/usage/{month}").json()
    top = usage["bracket"]["to"]
    counts = (top * 85 // 100, top * 91 // 100, top + 400)  # below 90% of the top, past it, into the next bracket
    moments = [(start + (now - start) * step / 4).replace(microsecond=0) for step in (1, 2, 3)]  # this month, past
    print(f"\nusage alerts in {month}: {account_id} opens at {usage['opening_count']:,} (bracket to {top:,})")
    alerts: list[dict] = []
    for count, at in zip(counts, moments, strict=True):
        answer = api.post(
            f"/v1/accounts/{account_id}/record-counts", json={"count": count, "observed_at": at.isoformat()}
        )
        answer.raise_for_status()
        print(f"  reported {count:,} at {at:%m-%d %H:%M}")
        # Each report's alert before the next report: the watch folds the rises of one batch into one
        deadline = time.monotonic() + timeout_s
        while (fresh := _usage_alert_emails(stack, month)[len(alerts) :]) == [] and count >= top * 9 // 10:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for email in fresh:
            print(f"  email to {email['destinations']['ToAddresses'][0]}: {email['subject']}")
            print("\n".join(f"  | {line}" for line in email["body"].splitlines()))
        alerts += fresh
    usage = api.get(f"/v1/accounts/{account_id}/usage/{month}").json()
    estimate = usage["estimate"]
    print(
        f"  usage API: peak {usage['peak']:,}, bracket {usage['bracket']['index']},"
        f" estimate ¥{estimate['total']:,} (tax ¥{estimate['tax']:,}),"
        f" alerts {[(alert['kind'], alert['bracket']) for alert in usage['alerts']]}"
    )
    token = stack.customer_token(account_id)
    current = requests.get(
        f"{stack.config['url']}/v1/usage/current", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    print(
        f"  the customer's 今月のご利用状況 (GET /v1/usage/current): peak {current['peak']:,}"
        f" at {current['peak_observed_at']}, {current['bracket']['from']:,}〜{current['bracket']['to']:,}件,"
        f" estimate ¥{current['estimate']['total']:,} (税込)"
    )
    kinds = [alert["kind"] for alert in usage["alerts"]]
    problems = [] if kinds == ["approaching", "crossed"] and len(alerts) == 2 else [f"{account_id}: alerts {kinds}"]
    return problems + ([] if current["estimate"] == estimate else [f"{account_id}: the card's estimate differs"])


def _usage_alert_emails(stack: LocalStack, month: str) -> list[dict]:
    label = f"({int(month[:4])}年{int(month[5:])}月ご利用分)"
    account = page_account()
    return [
        email
        for email in sent_emails(stack.endpoint)
        if "料金帯" in email["subject"] and label in email["subject"] and account.company_name in email["body"]
    ]


def close_month(stack: LocalStack, month: str = MONTH) -> None:
    """The month-close schedule, and everything it sets off: invoices issued, PDFs archived, deliveries routed."""
    started = time.perf_counter()
    report = stack.close_month(month)
    if not report.ok:
        raise DemoFailed(f"the month close did not finish cleanly: {json.dumps(report.as_json(), ensure_ascii=False)}")
    print(f"\nclosed {month}: invoices issued and delivered ({time.perf_counter() - started:.1f}s)")


def run_print_days(stack: LocalStack, month: str = MONTH, days: int = 7) -> list[dict]:
    """Run the daily print schedule for the week after the issue date (``print-run``), as the scheduler would."""
    issued_on = date.fromisoformat(f"{next_month(month)}-01")
    batches = []
    for offset in range(1, days + 1):
        day = (issued_on + timedelta(days=offset)).isoformat()
        report = stack.print_run(day)
        if not report.ok:
            raise DemoFailed(f"the print run of {day} did not finish cleanly: {json.dumps(report.as_json())}")
        batches += [{"date": day, **batch} for batch in report.batches]
    for batch in batches:
        print(f"print batch {batch['folder']}: {batch['letters']} letters in {batch['envelopes']} envelopes")
    return batches


def clear_previous_run(out: Path) -> None:
    """Remove the folders an earlier demo wrote to ``out/``, and nothing else there."""
    for name in OUTPUT_FOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)


def fetch_documents(stack: LocalStack, out: Path) -> list[Path]:
    """Copy every object of the template's buckets (invoice PDFs, print batches) to ``out/``."""
    s3 = stack.client("s3")
    written = []
    for item in stack.physical.values():
        if item.type != BUCKET:
            continue
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=item.ref):
            for entry in page.get("Contents", []):
                target = out / entry["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=item.ref, Key=entry["Key"])["Body"].read())
                written.append(target)
    return written


_PDF_LINK = re.compile(r'(<a class="pdf" href=")([^"]*)(")')


def save_statements_page(stack: LocalStack, account_id: str, out: Path, documents: list[Path]) -> Path:
    """GET /statements as ``account_id``'s customer, saved as ``out/statements/<account_id>.html``.

    The page's PDF links are presigned URLs to this stack's bucket, dead within
    300 seconds; the saved copy links to the PDFs saved next to it instead.
    """
    token = stack.customer_token(account_id)
    response = requests.get(
        f"{stack.config['url']}/statements", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    target = out / "statements" / f"{account_id}.html"
    target.parent.mkdir(parents=True, exist_ok=True)

    def saved_pdf(match: re.Match) -> str:
        path = unquote(urlparse(html.unescape(match.group(2))).path)
        for document in documents:
            key = document.relative_to(out).as_posix()
            if path.endswith("/" + key):
                return match.group(1) + html.escape(os.path.relpath(document, target.parent)) + match.group(3)
        return match.group(0)

    target.write_text(_PDF_LINK.sub(saved_pdf, response.text), encoding="utf-8")
    return target


def print_documents(out: Path, written: list[Path]) -> None:
    print(f"\nwrote {len(written)} files to {out}/")
    for path in sorted(written):
        print(f"  {path}")


def page_account() -> DemoAccount:
    """The account whose page is saved: the spike's, the statement that needs its chart most."""
    return next((account for account in ACCOUNTS if account.spike), ACCOUNTS[0])


def live_page_help(account_id: str, serving: bool) -> None:
    # Commands run from the project folder, with the interpreter that runs this demo (the .venv's).
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(f"{ROOT}/") else sys.executable
    curl = (
        f'curl -H "Authorization: Bearer $({python} -m local token {account_id})" '
        f"http://127.0.0.1:{LIVE_PORT}/statements"
    )
    if serving:
        print(f"\nserving the month on http://127.0.0.1:{LIVE_PORT} until Ctrl-C; in another terminal:")
        print(f"  {curl}")
        return
    print("\nthe stack has stopped; to open the live statements page, keep one running:")
    print(f"  terminal 1:  {python} -m local demo --serve   # this demo, then serves on port {LIVE_PORT}")
    print(f"  terminal 2:  {curl}")


def print_statements(stack: LocalStack, month: str = MONTH) -> list[dict]:
    """Each customer signs in and reads their statement through the customer API (JWT)."""
    rows = []
    for account in ACCOUNTS:
        token = stack.customer_token(account.account_id)
        response = requests.get(
            f"{stack.config['url']}/v1/statements", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        response.raise_for_status()
        found = [item for item in response.json()["statements"] if item["month"] == month]
        if not found:
            raise DemoFailed(f"{account.account_id} has no statement for {month}")
        rows.append({"account": account.account_id, **found[0]})
    columns = ("account", "invoice_number", "total", "tax", "issued_on", "pay by", "delivery", "status", "final")
    table = [
        (
            row["account"],
            row["invoice_number"],
            f"{row['total']:,}",
            f"{row['tax']:,}",
            row["issued_on"],
            row.get("due_on") or row.get("debit_on") or "",
            row["delivery_method"],
            row["status"],
            "最終請求" if row["final"] else "",
        )
        for row in rows
    ]
    print(f"\nstatements for {month} (customer API, signed in as each account)")
    _print_table(columns, table, numeric={2, 3})
    return rows


def _print_table(columns: tuple, rows: list[tuple], numeric: set[int]) -> None:
    widths = [max(len(str(row[index])) for row in (columns, *rows)) for index in range(len(columns))]

    def line(cells: tuple) -> str:
        return "  ".join(
            str(cell).rjust(width) if index in numeric else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(columns))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


class DemoFailed(Exception):
    pass


def run(template: Path | str, out: Path, log_path: Path = ROOT / ".local" / "demo.log", serve: bool = False) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("local").setLevel(logging.WARNING)
    clear_previous_run(out)
    try:
        with (
            log_path.open("w", encoding="utf-8") as log,
            LocalStack(
                template,
                port=LIVE_PORT if serve else 0,
                state_path=DEFAULT_STATE if serve else None,
                log_sink=log,
            ) as stack,
        ):
            print(
                f"local stack at {stack.config['url']} (AWS endpoint {stack.endpoint},"
                f" DynamoDB {stack.dynamodb_endpoint}); function logs in {log_path}"
            )
            api = SignedSession.from_config(stack.config)
            seed_accounts(api)
            expected = report_month(stack.config)
            problems = print_usage(read_usage(api), expected)
            if problems:
                raise DemoFailed("; ".join(problems))
            operator = SignedSession.from_config(stack.config, principal="operator")
            change_contracts(stack, api, operator)
            close_month(stack)
            run_print_days(stack)
            statements = print_statements(stack)
            problems = contract_summary(api, statements) + churn_summary(operator)
            problems += fix_what_was_issued(api, operator)
            problems += collect_debits(stack, operator, statements, out)
            problems += collect_transfers(stack, operator, out)
            problems += alert_usage(stack, api)
            if problems:
                raise DemoFailed("; ".join(problems))
            documents = fetch_documents(stack, out)
            page = save_statements_page(stack, page_account().account_id, out, documents)
            print_documents(out, [*documents, page])
            live_page_help(page_account().account_id, serving=serve)
            if serve and (lost := stack.serve(stop_signals())):
                raise DemoFailed(lost)
    except DemoFailed as failure:
        print(f"demo failed: {failure} (function logs in {log_path})", file=sys.stderr)
        return 1
    return 0
