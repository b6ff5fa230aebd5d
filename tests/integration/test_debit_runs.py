"""Debit runs under moto: a date's run made by an operator, fanned out, archived as a Zengin file; the bank's
results checked whole and applied, once."""

from __future__ import annotations

import base64
from datetime import date, datetime

import boto3
import pytest

from billing.bank_calendar import posting_date
from billing.dal.clients import from_item
from billing.delivery.notices import transfer_request_number
from billing.months import TOKYO
from billing.zengin.layouts import DIRECT_DEBIT
from local.bank import debit_results
from tests.integration.billing_month import Delivery, Month, drain, invoice_item, pdf_text, sent_emails
from tests.integration.conftest import BUCKET, TABLE, Api, tap_bus

DEBIT_DATE = "2026-11-27"  # October's invoices (issued 2026-11-01) are debited on the 27th


@pytest.fixture
def month(aws, monkeypatch):
    month = Month()
    month.seed()
    month.run_close("2026-10")
    return month


@pytest.fixture
def announced(aws):
    """Every InvoicePaid and PaymentFailed put on the invoicing bus, as (detail type, detail)."""
    tap = tap_bus("payments", ["InvoicePaid", "PaymentFailed"])
    return lambda: [(event["detail-type"], event["detail"]) for event in tap()]


@pytest.fixture
def runs(aws, monkeypatch) -> Api:
    api = Api("debit_runs")
    monkeypatch.setattr(api.module, "WAIT_FOR_FILE_S", 0)  # no queue consumer runs here: the test drains it
    return api


def make_run(runs: Api, debit_date: str = DEBIT_DATE) -> tuple[int, dict]:
    return runs.replay("make_debit_run.json", body={"debit_date": debit_date})


def get_run(runs: Api, debit_date: str = DEBIT_DATE) -> tuple[int, dict]:
    return runs.replay("get_debit_run.json", path=f"/v1/debit-runs/{debit_date}", params={"debit_date": debit_date})


def plan(runs: Api) -> dict:
    """The run's pages handled, as DebitRunFunction would; the run as it then stands."""
    drain("DEBIT_RUN_PAGES_QUEUE_URL", Api("debit_run").module)
    status, body = get_run(runs)
    assert status == 200, body
    return body


def request_file() -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=f"debit-runs/{DEBIT_DATE}/request.txt")["Body"].read()


def send_results(runs: Api, body: bytes, debit_date: str = DEBIT_DATE) -> tuple[int, dict]:
    return runs.replay(
        "import_debit_results.json",
        path=f"/v1/debit-runs/{debit_date}/results",
        params={"debit_date": debit_date},
        body=base64.b64encode(body).decode(),
    )


def manifest_of(batch: dict) -> str:
    key = batch["manifest_key"]
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8-sig")


def customer_number(account: str) -> str:
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}}
    )
    return from_item(item["Item"])["customer_number"]


def ledger(account: str) -> dict:
    item = from_item(invoice_item(account))
    return {name: item.get(name) for name in ("amount_due", "paid_amount", "pay_by", "collection")}


def test_a_run_collects_each_direct_debit_account_due_that_day_in_one_zengin_file(month, runs):
    status, started = make_run(runs)
    assert status == 201 and started["status"] == "planning" and started["file_url"] is None
    run = plan(runs)
    due = {a: from_item(invoice_item(a))["total"] for a in ("debit-web", "debit-postal")}
    assert (run["status"], run["records"], run["total"], run["skipped"]) == ("requested", 2, sum(due.values()), [])
    body = request_file()
    rows = DIRECT_DEBIT.read(body)
    assert [kind for kind, _ in rows] == ["1", "2", "2", "8", "9"]
    assert all(len(line) == 120 for line in body.split(b"\r\n")[:-1]) and body.endswith(b"\r\n")
    numbers = sorted(customer_number(a) for a in due)
    assert [values["customer_number"][-10:] for kind, values in rows if kind == "2"] == numbers
    assert {values["new_code"] for kind, values in rows if kind == "2"} == {"1"}  # both mandates still pending
    assert run["sha256"] and run["file_url"].startswith("https://")
    assert ledger("debit-web")["collection"] == "collecting" and ledger("transfer-web")["collection"] is None

    # Asked again (by an operator or the schedule): the same run, the same bytes, nothing held twice
    assert make_run(runs)[0] == 200
    again = plan(runs)
    assert {**again, "file_url": None} == {**run, "file_url": None} and request_file() == body


def test_results_pay_the_debited_invoices_and_ask_the_failed_account_to_transfer(month, runs, announced):
    make_run(runs)
    plan(runs)
    failed_number = customer_number("debit-postal")
    status, summary = send_results(runs, debit_results(request_file(), {failed_number: "1"}))
    assert status == 200, summary
    paid_total = from_item(invoice_item("debit-web"))["total"]
    assert summary == {
        "debit_date": DEBIT_DATE,
        "paid": 1,
        "failed": 1,
        "by_code": {"0": 1, "1": 1},
        "amount_paid": paid_total,
    }
    drain("DEBIT_RESULTS_QUEUE_URL", Api("debit_results").module)
    assert ledger("debit-web") == {
        "amount_due": paid_total,
        "paid_amount": paid_total,
        "pay_by": DEBIT_DATE,
        "collection": None,
    }
    failed = ledger("debit-postal")
    assert failed["collection"] == "debit_failed" and failed["paid_amount"] == 0
    assert failed["pay_by"] > DEBIT_DATE  # ten bank business days after the import
    # debit-postal gets its transfer request as a letter in the next print run, not an email
    assert not [e for e in sent_emails() if "お振込のお願い" in e.subject]
    today = datetime.now(TOKYO).date()
    written = Delivery().print_day(posting_date(today).isoformat())
    (batch,) = [b for b in written["batches"] if b["pdf_key"]]
    letter = pdf_text(batch["pdf_key"])
    assert "お振込のお願い" in letter and failed_number in letter and "行き違いで" in letter
    assert f",{transfer_request_number(date.fromisoformat(DEBIT_DATE))},debit-postal," in manifest_of(batch)
    # and the bus was told: InvoicePaid for the paid invoice, PaymentFailed with the new deadline
    events = announced()
    paid_number = from_item(invoice_item("debit-web"))["invoice_number"]
    assert [d["invoice_number"] for kind, d in events if kind == "InvoicePaid"] == [paid_number]
    (failure,) = [d for kind, d in events if kind == "PaymentFailed"]
    assert (failure["account_id"], failure["result_code"], failure["pay_by"]) == ("debit-postal", "1", failed["pay_by"])

    # The invoice desk lists each by its state, and what is overdue (the transfer invoices were due 2026-11-30)
    def listed(**conditions: str) -> list[str]:
        query = {"issued_from": "2026-11-01", "issued_to": "2026-11-01", **conditions}
        status, body = Api("invoice_desk").replay("list_invoices.json", query=query)
        assert status == 200, body
        return sorted(row["account_id"] for row in body["invoices"])

    assert listed(payment_status="paid") == ["debit-web"]
    assert listed(payment_status="debit_failed") == ["debit-postal"]
    assert listed(overdue="true") == ["transfer-postal", "transfer-web"]
    assert listed(overdue="false") == ["debit-postal", "debit-web"]
    status, page = Api("invoice_desk").replay(
        "list_invoices.json", query={"issued_from": "2026-11-01", "issued_to": "2026-11-01"}
    )
    shown = {row["account_id"]: (row["payment_status"], row["balance"]) for row in page["invoices"]}
    assert shown["debit-web"] == ("paid", 0) and shown["transfer-web"][0] == "unpaid"

    # The same file again changes nothing; another is refused
    assert send_results(runs, debit_results(request_file(), {failed_number: "1"})) == (200, summary)
    status, refused = send_results(runs, debit_results(request_file()))
    assert (status, refused["error"]["code"]) == (409, "results_already_imported")
    assert get_run(runs)[1]["status"] == "settled"


def swap(body: bytes, record: int, start: int, new: bytes) -> bytes:
    """``body`` with record ``record`` (from 1) overwritten at byte ``start`` (from 0) by ``new``."""
    lines = body.split(b"\r\n")
    line = lines[record - 1]
    lines[record - 1] = line[:start] + new + line[start + len(new) :]
    return b"\r\n".join(lines)


# Each hostile file, and the field its 400 names (None: refused before it is read as a bank file)
HOSTILE = {
    "a short record": (lambda b: swap(b, 2, 0, b"")[:-4] + b"\r\n", "レコード長"),
    "an unknown record kind": (lambda b: swap(b, 2, 0, b"7"), "データ区分"),
    "bytes that are not CP932 JIS X 0201": (lambda b: swap(b, 2, 60, b"\xff\xfe"), "byte 61"),
    "full-width kana in a half-width field": (lambda b: swap(b, 2, 60, "ア".encode("cp932")), "byte 61"),
    "another consignor": (lambda b: swap(b, 1, 4, b"9999999999"), "委託者コード"),
    "another debit date": (lambda b: swap(b, 1, 54, b"1130"), "引落日"),
    "a customer number never sent": (lambda b: swap(b, 2, 91, b"0" * 19 + b"1"), "顧客番号"),
    "a record given twice": (lambda b: b"\r\n".join([*b.split(b"\r\n")[:2], *b.split(b"\r\n")[1:]]), "顧客番号"),
    "an amount that differs": (lambda b: swap(b, 2, 80, b"0000000001"), "引落金額"),
    "a trailer that does not add up": (lambda b: swap(b, 4, 1, b"000009"), "合計件数"),
    "1 MB of garbage": (lambda b: bytes(range(256)) * 4096, "レコード長"),
    "more than 1 MB": (lambda b: b * (1024 * 1024 // len(b) + 1), None),
    "an empty body": (lambda b: b"", None),
}


def test_every_hostile_result_file_is_a_400_naming_the_fault_and_changes_nothing(month, runs):
    make_run(runs)
    plan(runs)
    good = debit_results(request_file(), {customer_number("debit-postal"): "1"})
    before = (ledger("debit-web"), ledger("debit-postal"))
    for name, (damage, field) in HOSTILE.items():
        status, body = send_results(runs, damage(good))
        assert status == 400, (name, body)
        if field is None:
            assert body["error"]["code"] == "invalid_request", (name, body)
        else:
            assert body["error"]["code"] == "invalid_bank_file" and field in body["error"]["message"], (name, body)
    assert (ledger("debit-web"), ledger("debit-postal")) == before and get_run(runs)[1]["status"] == "requested"
    assert send_results(runs, good)[0] == 200  # and the true file is still taken


def test_a_result_file_sent_as_json_is_refused(month, runs):
    make_run(runs)
    plan(runs)
    status, body = runs.replay(
        "import_debit_results.json",
        path=f"/v1/debit-runs/{DEBIT_DATE}/results",
        params={"debit_date": DEBIT_DATE},
        headers={"content-type": "application/json"},
        body="{}",
    )
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_a_date_that_is_not_a_bank_business_day_is_refused(month, runs):
    status, body = make_run(runs, "2026-11-28")  # a Saturday
    assert (status, body["error"]["code"]) == (400, "invalid_request") and "business day" in body["error"]["message"]


def test_a_rejected_mandate_bills_the_next_month_by_transfer_with_the_customer_number(month, runs):
    # Given the bank answers 3 (預金者都合) for debit-postal, whose mandate is then rejected, and 8 (委託者都合:
    # withdrawn by the issuer) for debit-web, whose invoice is then simply unpaid again, with no notice
    make_run(runs)
    plan(runs)
    number = customer_number("debit-postal")
    codes = {number: "3", customer_number("debit-web"): "8"}
    assert send_results(runs, debit_results(request_file(), codes))[0] == 200
    drain("DEBIT_RESULTS_QUEUE_URL", Api("debit_results").module)
    assert ledger("debit-postal")["collection"] == "debit_failed"
    assert ledger("debit-web")["collection"] is None and ledger("debit-web")["paid_amount"] == 0
    assert not [e for e in sent_emails() if "お振込のお願い" in e.subject]  # debit-postal's goes by post
    waiting = [
        i for i in boto3.client("dynamodb").scan(TableName=TABLE)["Items"] if i["pk"]["S"].startswith("LETTERS#")
    ]
    assert [i["sk"]["S"] for i in waiting if "TR-" in i["sk"]["S"]] == ["debit-postal#TR-20261127"]
    # When November closes
    month.run_close("2026-11")
    # Then its November invoice asks for a transfer: the bank account, a due date and its customer number
    november = from_item(invoice_item("debit-postal", "2026-11"))
    assert (november["payment_method"], november["debit_on"]) == ("bank_transfer", None)
    assert november["due_on"] and november["customer_number"] == number
    # while the account whose debit was withdrawn is debited again, naming its mandate
    debited = from_item(invoice_item("debit-web", "2026-11"))
    assert debited["payment_method"] == "direct_debit" and debited["debited_account"].startswith("****")


def test_an_account_whose_mandate_is_rejected_is_skipped_and_asked_to_transfer(month, runs):
    # Given debit-postal's mandate was rejected by an earlier run (and October was billed before that)
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "ACCOUNT#debit-postal"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET mandate_status = :rejected",
        ExpressionAttributeValues={":rejected": {"S": "rejected"}},
    )
    # When the run is made
    make_run(runs)
    run = plan(runs)
    # Then it debits debit-web alone, lists debit-postal as skipped, and asks it for a transfer by post
    assert (run["records"], run["skipped"]) == (1, [{"account_id": "debit-postal", "reason": "mandate_rejected"}])
    assert ledger("debit-postal")["collection"] == "debit_failed" and ledger("debit-postal")["pay_by"] > DEBIT_DATE
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    letters = [i["sk"]["S"] for i in items if i["pk"]["S"].startswith("LETTERS#") and "TR-" in i["sk"]["S"]]
    assert letters == ["debit-postal#TR-20261127"]
    assert [values["customer_number"][-10:] for kind, values in DIRECT_DEBIT.read(request_file()) if kind == "2"] == [
        customer_number("debit-web")
    ]
