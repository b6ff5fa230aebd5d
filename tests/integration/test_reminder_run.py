"""The daily reminder run under moto: the ladder's levels sent once each, by email or by letter, the first
announced as InvoiceOverdue, and nothing once the money is in."""

from __future__ import annotations

from datetime import date

import boto3
import pytest

from billing.bank_calendar import business_days_after
from billing.dal.clients import from_item
from tests.conftest import LambdaContext
from tests.integration.billing_month import Month, drain, invoice_item, sent_emails
from tests.integration.conftest import TABLE, Api, tap_bus


@pytest.fixture
def month(aws):
    month = Month()
    month.seed()
    month.run_close("2026-10")
    return month


@pytest.fixture
def overdue(aws):
    tap = tap_bus("overdue", ["InvoiceOverdue"])
    return lambda: [event["detail"] for event in tap()]


def run(day: date) -> dict:
    module = Api("reminders").module
    started = module.lambda_handler({"date": day.isoformat()}, LambdaContext())
    drain("REMINDER_PAGES_QUEUE_URL", module)
    return started


def reminders_of(account: str) -> list[tuple[int, str]]:
    return [(r["level"], r["channel"]) for r in from_item(invoice_item(account)).get("reminders", [])]


def emails_to(address_part: str) -> list:
    return [m for m in sent_emails() if any(address_part in d for d in m.destinations["ToAddresses"])]


def letters() -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return [from_item(i) for i in items if i["pk"]["S"].startswith("LETTERS#") and "-R" in i["sk"]["S"]]


def test_each_level_goes_once_by_email_or_letter_and_stops_when_paid(month, overdue):
    web, postal = from_item(invoice_item("transfer-web")), from_item(invoice_item("transfer-postal"))
    pay_by = date.fromisoformat(web["pay_by"])
    assert postal["pay_by"] == web["pay_by"]

    # Two business days after pay_by: nothing is due yet
    ours = {web["invoice_number"], postal["invoice_number"]}  # the debit accounts' own pay_by is earlier
    run(business_days_after(pay_by, 2))
    assert reminders_of("transfer-web") == [] and [e for e in overdue() if e["invoice_number"] in ours] == []

    # The 3rd: level 1, an email for the web account and a letter for the postal one, each announced
    first = business_days_after(pay_by, 3)
    started = run(first)
    assert started["pages"] > 0
    assert reminders_of("transfer-web") == [(1, "email")] and reminders_of("transfer-postal") == [(1, "letter")]
    announced = {e["invoice_number"]: e for e in overdue() if e["invoice_number"] in ours}
    assert set(announced) == ours
    assert announced[web["invoice_number"]]["balance"] == web["total"]
    emails = [m for m in sent_emails() if web["invoice_number"] in m.subject]
    assert len(emails) == 1 and "お支払いのお願い" in emails[0].subject
    body = emails[0].body
    for words in ("行き違いでお支払いいただいている場合は、ご容赦ください", web["invoice_number"], "お客様番号"):
        assert words in body, words
    assert any(postal["invoice_number"] in letter["sk"] for letter in letters())

    # The same day again (a retried schedule): nothing twice
    run(first)
    assert reminders_of("transfer-web") == [(1, "email")]
    assert len([m for m in sent_emails() if web["invoice_number"] in m.subject]) == 1
    assert [e for e in overdue() if e["invoice_number"] in ours] == []

    # The web account pays; on the 10th only the postal account hears again, and InvoiceOverdue is not repeated
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "ACCOUNT#transfer-web"}, "sk": web["sk"] and {"S": web["sk"]}},
        UpdateExpression="SET paid_amount = amount_due",
    )
    run(business_days_after(pay_by, 10))
    assert reminders_of("transfer-web") == [(1, "email")]
    assert reminders_of("transfer-postal") == [(1, "letter"), (2, "letter")]
    assert [e for e in overdue() if e["invoice_number"] in ours] == []

    # A run that missed the 20th sends level 3 on the next day it runs, and never level 2 again
    run(business_days_after(pay_by, 22))
    assert reminders_of("transfer-postal") == [(1, "letter"), (2, "letter"), (3, "letter")]
    run(business_days_after(pay_by, 23))
    assert len(reminders_of("transfer-postal")) == 3
