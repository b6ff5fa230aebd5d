"""Bank transfers under moto: the bank's files checked whole, each payment imported once, matched by customer
number or payer name (never by amount), allocated oldest pay_by first, cancelled, and given or taken back by an
operator."""

from __future__ import annotations

import base64
import csv
import io
import json
import random

import boto3
import pytest

from billing.dal import stores
from billing.dal.clients import from_item
from billing.zengin.layouts import TRANSFER_NOTICE
from local.bank import statement, transfer_notice
from tests.conftest import LambdaContext, assert_answer_documented, load_event
from tests.factories import profile_body
from tests.integration.billing_month import Month, customer_api, drain, invoice_item
from tests.integration.conftest import TABLE, Api, tap_bus

BOOKED = "081130"  # 令和8年11月30日 = 2026-11-30
RECEIVED = "2026-11-30"
EXTRA = {
    # account: (payer_name_kana, peak)
    "minato": ("カ)ミナト ショウジ", 9_000),  # full-width with a legal form: stored ﾐﾅﾄ ｼﾖｳｼﾞ in the bank's form
    "twin-a": ("ﾌﾀｺﾞ", 9_000),
    "twin-b": ("ﾌﾀｺﾞ", 9_000),
}


@pytest.fixture
def month(aws):
    month = Month()
    month.seed()
    for account, (kana, peak) in EXTRA.items():
        body = profile_body("bank_transfer", "web", person_name=None, payer_name_kana=kana)
        status, created = month.accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)
        assert status == 201, created
        month.report(account, peak, "2026-10-10T12:00:00+09:00")
    month.run_close("2026-10")
    return month


@pytest.fixture
def payments(aws, monkeypatch) -> Api:
    api = Api("payments")
    worker = Api("bank_credits").module

    def imported(file):  # the pages handled, as BankCreditsFunction would, before the POST answers
        drain("BANK_CREDIT_PAGES_QUEUE_URL", worker)
        return stores.bank_credits().get_file(file.sha256)

    monkeypatch.setattr(api.module, "imported", imported)
    return api


@pytest.fixture
def announced(aws):
    tap = tap_bus("transfers", ["InvoicePaid"])
    return lambda: [event["detail"] for event in tap()]


def send(payments: Api, body: bytes) -> tuple[int, dict]:
    return payments.replay("import_bank_statement.json", body=base64.b64encode(body).decode())


def listed(payments: Api, status: str = "all", **query) -> tuple[int, dict]:
    query = {"status": status, "received_from": "2026-11-01", "received_to": "2026-11-30", **query}
    return payments.replay("list_payments.json", query=query)


def allocate(payments: Api, payment_id: str, account_id: str) -> tuple[int, dict]:
    return payments.replay(
        "allocate_payment.json",
        path=f"/v1/payments/{payment_id}/allocation",
        params={"payment_id": payment_id},
        body={"account_id": account_id},
    )


def take_back(payments: Api, payment_id: str) -> tuple[int, dict]:
    return payments.replay(
        "take_back_allocation.json", path=f"/v1/payments/{payment_id}/allocation", params={"payment_id": payment_id}
    )


def customer_number(account: str) -> str:
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}}
    )
    return from_item(item["Item"])["customer_number"]


def profile(account: str) -> dict:
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}}
    )
    return from_item(item["Item"])


def state(account: str) -> dict:
    item = from_item(invoice_item(account))
    return {
        "total": item["total"],
        "paid": item["paid_amount"],
        "balance": item["amount_due"] - item["paid_amount"],
        "payments": sorted(item["payments"]),
    }


def credit(inquiry: int, amount: int, payer_name: str, **more) -> dict:
    return {"inquiry_number": f"{inquiry:06d}", "booked_on": BOOKED, "amount": amount, "payer_name": payer_name, **more}


def stored_items(prefix: str) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return [from_item(i) for i in items if i["pk"]["S"].startswith(prefix)]


def test_a_file_pays_by_customer_number_and_by_payer_name_and_queues_the_rest(month, payments, announced):
    web, postal = state("transfer-web"), state("transfer-postal")
    minato, twin = state("minato"), state("twin-a")
    body = transfer_notice(
        [
            credit(1, web["total"], "ﾔﾏﾀﾞ ﾀﾛｳ", payer_code=customer_number("transfer-web")),  # by payer code
            credit(2, postal["total"] - 440, f"{customer_number('transfer-postal')} ﾔﾏﾀﾞ"),  # number first, short
            credit(3, minato["total"], "ﾐﾅﾄｼﾖｳｼﾞ(ｶ"),  # the payer name: legal form and spaces differ
            credit(4, twin["total"], "ﾌﾀｺﾞ"),  # two accounts pay under this name: ambiguous
            credit(5, 5_000, "ﾀﾞﾚｶ"),  # nobody
        ]
    )
    status, summary = send(payments, body)
    assert status == 200, summary
    assert summary == {
        "imported": 5,
        "duplicates": 0,
        "matched": 3,
        "unmatched": 2,
        "cancelled": 0,
        "amount": web["total"] + postal["total"] - 440 + minato["total"] + twin["total"] + 5_000,
    }
    assert state("transfer-web")["balance"] == 0 and state("minato")["balance"] == 0
    assert state("transfer-postal")["balance"] == 440  # the payer's bank fee: partially paid
    assert state("twin-a")["balance"] == twin["total"] and state("twin-b")["balance"] == twin["total"]
    events = announced()
    paid = sorted(e["invoice_number"] for e in events)
    assert paid == sorted(from_item(invoice_item(a))["invoice_number"] for a in ("transfer-web", "minato"))
    assert {e["method"] for e in events} == {"bank_transfer"}

    # The review queue holds the two it could not place, oldest first, and says why nothing was allocated
    status, queue = listed(payments, "unmatched")
    assert status == 200
    assert [(p["payer_name"], p["account_id"], p["allocations"]) for p in queue["payments"]] == [
        ("ﾌﾀｺﾞ", None, []),
        ("ﾀﾞﾚｶ", None, []),
    ]
    status, everything = listed(payments, "all", limit="2")
    assert status == 200 and len(everything["payments"]) == 2 and everything["next_token"]
    status, rest = listed(payments, "all", limit="2", next_token=everything["next_token"])
    status, last = listed(payments, "all", limit="2", next_token=rest["next_token"])
    ids = [p["payment_id"] for page in (everything, rest, last) for p in page["payments"]]
    assert len(ids) == len(set(ids)) == 5 and last["next_token"] is None

    # The invoice desk and the document show the payment state
    document = from_item(invoice_item("transfer-postal"))
    status, detail = Api("invoice_desk").replay(
        "get_invoice.json",
        path=f"/v1/invoices/{document['invoice_number']}",
        params={"invoice_number": document["invoice_number"]},
    )
    assert (detail["payment_status"], detail["balance"]) == ("partially_paid", 440)
    assert [p["method"] for p in detail["payments"]] == ["bank_transfer"]
    # And the customer sees it: 一部入金, what is left, and where to pay it
    (statement,) = json.loads(customer_api("transfer-postal", "list_statements.json")["body"])["statements"]
    assert (statement["payment_status"], statement["balance"]) == ("partially_paid", 440)
    (paid,) = json.loads(customer_api("transfer-web", "list_statements.json")["body"])["statements"]
    assert (paid["payment_status"], paid["balance"]) == ("paid", 0)


def test_the_same_records_are_imported_once_whatever_file_brings_them(month, payments):
    web = state("transfer-web")
    first = credit(1, web["total"], "ﾔﾏﾀﾞ", payer_code=customer_number("transfer-web"))
    body = transfer_notice([first])
    assert send(payments, body)[1]["imported"] == 1
    # The same file again, and another file repeating the record beside a new one
    assert send(payments, body) == (
        200,
        {**dict.fromkeys(("imported", "matched", "unmatched", "cancelled", "amount"), 0), "duplicates": 1},
    )
    status, summary = send(payments, transfer_notice([first, credit(2, 1_000, "ﾀﾞﾚｶ")], created="081201"))
    assert (status, summary["imported"], summary["duplicates"], summary["unmatched"]) == (200, 1, 1, 1)
    assert state("transfer-web")["paid"] == web["total"]  # paid once
    assert profile("transfer-web").get("credit_balance", 0) == 0
    assert len(stored_items("BANKFILE#")) == 2 and len(stored_items("CREDITS#")) == 2


def test_money_beyond_the_balance_becomes_credit_and_a_cancellation_undoes_it_all(month, payments):
    web = state("transfer-web")
    number = customer_number("transfer-web")
    send(payments, transfer_notice([credit(7, web["total"] + 3_000, "ﾔﾏﾀﾞ", payer_code=number)]))
    assert state("transfer-web")["balance"] == 0 and profile("transfer-web")["credit_balance"] == 3_000

    # The bank cancels it (取消区分 1) in the next day's file: the invoice owes again and the credit is gone
    undo = credit(7, web["total"] + 3_000, "ﾔﾏﾀﾞ", payer_code=number, cancellation="1")
    status, summary = send(payments, transfer_notice([undo], created="081201"))
    assert (status, summary["cancelled"], summary["imported"]) == (200, 1, 0)
    assert state("transfer-web") == {**web, "paid": 0, "balance": web["total"], "payments": []}
    assert profile("transfer-web")["credit_balance"] == 0
    status, everything = listed(payments)
    assert [p["status"] for p in everything["payments"]] == ["cancelled"]
    # A cancelled payment cannot be given to anyone
    payment_id = everything["payments"][0]["payment_id"]
    status, refused = allocate(payments, payment_id, "transfer-web")
    assert (status, refused["error"]["code"]) == (409, "payment_cancelled")


def test_a_credit_and_its_cancellation_in_one_file_leave_nothing(month, payments):
    web = state("transfer-web")
    number = customer_number("transfer-web")
    records = [credit(8, 1_000, "ﾔﾏﾀﾞ", payer_code=number), credit(8, 1_000, "ﾔﾏﾀﾞ", payer_code=number, cancellation="1")]
    status, summary = send(payments, transfer_notice(records))
    assert (status, summary["imported"], summary["cancelled"]) == (200, 1, 1)
    assert state("transfer-web") == {**web, "payments": []}


def test_an_operator_gives_an_unknown_payment_to_an_account_and_its_name_is_learned(month, payments, announced):
    postal = state("transfer-postal")
    send(payments, transfer_notice([credit(9, postal["total"], "ﾔﾏﾀﾞﾀﾛｳ")]))
    payment_id = listed(payments, "unmatched")[1]["payments"][0]["payment_id"]

    # Bad allocations change nothing
    assert allocate(payments, payment_id, "nobody")[0] == 404
    assert allocate(payments, "0001-100-10001234-000001-20261130-1", "transfer-postal")[0] == 404
    assert state("transfer-postal") == postal

    status, allocated = allocate(payments, payment_id, "transfer-postal")
    assert status == 200, allocated
    assert allocated["status"] == "matched" and allocated["account_id"] == "transfer-postal"
    assert allocated["allocations"] == [
        {"invoice_number": from_item(invoice_item("transfer-postal"))["invoice_number"], "amount": postal["total"]}
    ]
    assert state("transfer-postal")["balance"] == 0
    assert [e["account_id"] for e in announced()] == ["transfer-postal"]
    assert allocate(payments, payment_id, "transfer-web")[1]["error"]["code"] == "payment_already_allocated"

    # The next transfer under that name (in another width) matches by itself
    status, summary = send(payments, transfer_notice([credit(10, 2_000, "ﾔﾏﾀﾞ ﾀﾛｳ")], created="081201"))
    assert (summary["matched"], summary["unmatched"]) == (1, 0)
    assert profile("transfer-postal")["credit_balance"] == 2_000

    # Taken back: the invoice owes again, the payment waits again, and the name stays learned
    status, back = take_back(payments, payment_id)
    assert status == 200 and back["status"] == "unmatched" and back["allocations"] == []
    assert state("transfer-postal")["balance"] == postal["total"]
    assert take_back(payments, payment_id)[1]["error"]["code"] == "payment_not_allocated"


BAD_FILES = {
    "wrong width": lambda good: good.replace(b"\r\n", b" \r\n"),
    "a date before 令和": lambda good: good.replace(b"081130", b"001130"),
    "a trailer that does not add up": lambda good: _retotal(good),
    "1 MB of garbage": lambda good: random.Random(1).randbytes(1024 * 1024),
    "a record kind it does not know": lambda good: good.replace(b"\r\n2", b"\r\n7", 1),
    "full-width text in a name": lambda good: good.replace("ﾀﾞﾚｶ".encode("cp932"), "ダレ".encode("cp932")),
    "an empty body": lambda good: b"",
    "over 1 MB": lambda good: good * (1024 * 1024 // len(good) + 1),
}


def _retotal(good: bytes) -> bytes:
    rows = TRANSFER_NOTICE.read(good)
    rows = [
        (kind, {**values, "transfer_total": int(values["transfer_total"]) + 1} if kind == "8" else values)
        for kind, values in rows
    ]
    return TRANSFER_NOTICE.write([(kind, {k: v for k, v in values.items() if k != "filler"}) for kind, values in rows])


def test_each_bad_file_is_refused_whole_and_changes_nothing(month, payments):
    good = transfer_notice([credit(1, 5_000, "ﾀﾞﾚｶ"), credit(2, 6_000, "ﾀﾞﾚｶ")])
    before = {a: state(a) for a in ("transfer-web", "transfer-postal")}
    for fault, damage in sorted(BAD_FILES.items()):
        status, answer = send(payments, damage(good))
        assert status == 400, (fault, answer)
        assert answer["error"]["code"] in ("invalid_bank_file", "invalid_request"), (fault, answer)
        assert stored_items("BANKFILE#") == [] and stored_items("CREDITS#") == [], fault
        assert {a: state(a) for a in before} == before, fault


def test_receivables_age_each_balance_by_days_past_pay_by(month, payments):
    postal = state("transfer-postal")
    send(
        payments,
        transfer_notice([credit(1, postal["total"] - 440, "ﾀﾞﾚｶ", payer_code=customer_number("transfer-postal"))]),
    )
    pay_by = from_item(invoice_item("transfer-postal"))["pay_by"]
    status, report = payments.replay("get_receivables.json", query={"as_of": pay_by})
    assert status == 200
    rows = {r["account_id"]: r for r in report["accounts"]}
    assert rows["transfer-postal"]["not_due"] == 440 and rows["transfer-postal"]["total"] == 440
    assert report["totals"]["total"] == sum(r["total"] for r in report["accounts"])
    event = load_event("get_receivables.json")
    event["queryStringParameters"] = {"as_of": pay_by, "format": "csv"}
    event["rawQueryString"] = f"as_of={pay_by}&format=csv"
    response = payments.module.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert_answer_documented("GET /v1/receivables", response)
    rows = list(csv.reader(io.StringIO(response["body"].removeprefix("\ufeff"))))
    assert response["body"].startswith("\ufeff")
    assert rows[0][:3] == ["account_id", "counterparty", "not_due"] and rows[-1][0] == "合計"
    assert [r[0] for r in rows[1:-1]] == sorted(rows[r][0] for r in range(1, len(rows) - 1))
    assert rows[-1][-1] == str(report["totals"]["total"])


def test_credit_left_by_an_overpayment_pays_the_next_document_issued(month, payments):
    # Given ¥3,000 paid beyond October's invoice: the account's credit
    web = state("transfer-web")
    send(
        payments, transfer_notice([credit(11, web["total"] + 3_000, "ﾔﾏﾀﾞ", payer_code=customer_number("transfer-web"))])
    )
    assert profile("transfer-web")["credit_balance"] == 3_000
    # When November's invoice is issued (and announced)
    month.report("transfer-web", 9_000, "2026-11-10T12:00:00+09:00")
    month.run_close("2026-11")
    november = from_item(invoice_item("transfer-web", "2026-11"))
    event = load_event("apply_credit.json")
    event["detail"] = {**event["detail"], "account_id": "transfer-web", "month": "2026-11"}
    event["detail"]["invoice_number"] = november["invoice_number"]
    applier = Api("apply_credit").module
    assert applier.lambda_handler(event, LambdaContext()) == {"applied": 3_000}
    # Then the credit pays it in part, and the balance holds no more credit
    paid = from_item(invoice_item("transfer-web", "2026-11"))
    assert (paid["paid_amount"], profile("transfer-web")["credit_balance"]) == (3_000, 0)
    assert [p["method"] for p in paid["payments"].values()] == ["credit_balance"]
    # And the same event again applies nothing
    assert applier.lambda_handler(event, LambdaContext()) == {"applied": 0}
    assert from_item(invoice_item("transfer-web", "2026-11"))["paid_amount"] == 3_000


def test_a_statement_03_credits_only_the_transfers_in_and_matches_them_alike(month, payments):
    web, minato = state("transfer-web"), state("minato")
    body = statement(
        [
            {"inquiry_number": "00000201", "booked_on": BOOKED, "amount": web["total"], "payer_name": "ﾔﾏﾀﾞ",
             "payer_code": customer_number("transfer-web")},
            {"inquiry_number": "00000202", "booked_on": BOOKED, "amount": minato["total"], "payer_name": "ﾐﾅﾄｼﾖｳｼﾞ"},
            {"inquiry_number": "00000203", "booked_on": BOOKED, "amount": 50_000, "payer_name": "ｶ)ｼｲﾚ",
             "direction": "2"},  # a payment out
            {"inquiry_number": "00000204", "booked_on": BOOKED, "amount": 9_999, "payer_name": "", "kind": "10"},
        ]
    )  # fmt: skip
    status, summary = send(payments, body)
    assert (status, summary["imported"], summary["matched"], summary["unmatched"]) == (200, 2, 2, 0), summary
    assert state("transfer-web")["balance"] == 0 and state("minato")["balance"] == 0
    assert send(payments, body)[1]["duplicates"] == 2  # each of its payments, known


def test_the_same_cancellation_in_a_later_file_undoes_nothing_more(month, payments):
    # Given two payments of 1,000 yen under one 照会番号, booked on two days (the bank reuses its numbers)
    number = customer_number("transfer-web")
    first = {**credit(7, 1_000, "ﾔﾏﾀﾞ", payer_code=number), "booked_on": "081129"}
    second = credit(7, 1_000, "ﾔﾏﾀﾞ", payer_code=number)
    assert send(payments, transfer_notice([first, second]))[1]["imported"] == 2
    # When the bank cancels the later one, and its next file repeats the cancellation
    undo = credit(7, 1_000, "ﾔﾏﾀﾞ", payer_code=number, cancellation="1")
    assert send(payments, transfer_notice([undo], created="081201"))[1]["cancelled"] == 1
    status, again = send(payments, transfer_notice([undo], created="081202"))
    # Then the repeat is a duplicate, and the earlier payment stands
    assert (status, again["cancelled"], again["duplicates"]) == (200, 0, 1)
    assert state("transfer-web")["paid"] == 1_000
    statuses = sorted((p["received_on"], p["status"]) for p in listed(payments)[1]["payments"])
    assert statuses == [("2026-11-29", "matched"), ("2026-11-30", "cancelled")]


def test_a_cancellation_that_cannot_undo_its_payment_holds_up_nothing(month, payments):
    # Given a payment whose credit (3,000 yen beyond the invoice) was spent since
    web = state("transfer-web")
    number = customer_number("transfer-web")
    overpaid = credit(12, web["total"] + 3_000, "ﾔﾏﾀﾞ", payer_code=number)
    send(payments, transfer_notice([overpaid]))
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "ACCOUNT#transfer-web"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET credit_balance = :none",
        ExpressionAttributeValues={":none": {"N": "0"}},
    )
    # When the bank cancels it in a file that also brings another payment
    undo = {**overpaid, "cancellation": "1"}
    status, summary = send(payments, transfer_notice([undo, credit(13, 2_000, "ﾀﾞﾚｶ")], created="081201"))
    # Then the cancellation waits for an operator (nothing taken below zero) and the other payment is imported
    assert (status, summary["cancelled"], summary["imported"], summary["unmatched"]) == (200, 0, 1, 1)
    assert profile("transfer-web")["credit_balance"] == 0 and state("transfer-web")["balance"] == 0
