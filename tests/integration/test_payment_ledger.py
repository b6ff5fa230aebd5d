"""The payment ledger under moto: each issued document's payment state, and what a correction, a return and
money applied do to it."""

from __future__ import annotations

from datetime import date

import boto3

from billing.dal import keys
from billing.dal.clients import from_item
from billing.dal.ledger import LedgerStore
from billing.payments.ledger import Payment
from tests.integration.conftest import TABLE
from tests.integration.test_documents import ORIGINAL, correct, credit


def state(number: str) -> dict:
    items = [from_item(i) for i in boto3.client("dynamodb").scan(TableName=TABLE)["Items"]]
    (item,) = [i for i in items if i.get("invoice_number") == number and i["sk"].startswith("INVOICE#")]
    return {name: item.get(name) for name in ("total", "amount_due", "paid_amount", "pay_by", "payments")}


def credit_balance() -> int:
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key=keys.key(keys.account_pk("acme"), keys.PROFILE))
    return from_item(item["Item"]).get("credit_balance", 0)


def pay(amount: int, payment_id: str = "p-1") -> None:
    LedgerStore(TABLE, boto3.client("dynamodb")).pay(
        "acme", Payment(payment_id, date(2026, 11, 20), amount, "bank_transfer")
    )


def test_an_issued_invoice_owes_its_total_by_its_due_date(closed):
    assert state(ORIGINAL) == {
        "total": 7_700,
        "amount_due": 7_700,
        "paid_amount": 0,
        "pay_by": "2026-11-30",
        "payments": {},  # by payment id
    }


def test_a_return_lowers_what_is_owed_and_money_paid_beyond_it_becomes_credit(closed, desk):
    pay(7_700)
    assert credit(desk, 1_100)[0] == 201
    assert (state(ORIGINAL)["amount_due"], state(ORIGINAL)["paid_amount"], credit_balance()) == (6_600, 6_600, 1_100)


def test_a_correction_takes_over_what_was_paid_and_the_replaced_invoice_asks_for_nothing(closed, desk):
    pay(5_000)
    assert credit(desk, 1_100)[0] == 201  # the month has given back 1,100 before the correction
    status, corrected = correct(desk, changes={"options": []})  # standard alone: ¥4,400
    assert status == 201, corrected
    replaced, correction = state(ORIGINAL), state(corrected["invoice_number"])
    assert (replaced["amount_due"], replaced["paid_amount"]) == (0, 0)
    assert (correction["total"], correction["amount_due"]) == (4_400, 4_400 - 1_100)  # less the month's returns
    assert correction["paid_amount"] == 3_300 and [p["amount"] for p in correction["payments"].values()] == [5_000]
    assert credit_balance() == 5_000 - 3_300  # what was paid beyond it


def test_the_desk_shows_a_documents_payment_state_and_a_return_invoice_has_none(closed, desk):
    from tests.conftest import assert_documented
    from tests.integration.conftest import Api

    pay(2_000)
    assert credit(desk, 1_100)[0] == 201
    status, body = Api("invoice_desk").replay("get_invoice.json", path=f"/v1/invoices/{ORIGINAL}")
    assert status == 200, body
    assert_documented("GET /v1/invoices/{invoice_number}", status, body)
    assert (body["amount_due"], body["paid_amount"], body["balance"]) == (6_600, 2_000, 4_600)
    assert (body["payment_status"], body["pay_by"]) == ("partially_paid", "2026-11-30")
    assert [p["amount"] for p in body["payments"]] == [2_000] and body["reminders"] == []
    status, note = Api("invoice_desk").replay("get_invoice.json", path="/v1/invoices/CN-202610-0000001")
    assert status == 200 and note["payment_status"] is None and note["amount_due"] is None
