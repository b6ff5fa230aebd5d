"""The statements page: customer and operator text is shown as text, never as markup."""

from __future__ import annotations

from datetime import date

import pytest

from billing.delivery import statements
from billing.delivery.statement_page import render_page
from tests.unit.test_invoice_pdf import contact_invoice

HOSTILE = [
    '<script>alert("x")</script>',
    '"onmouseover="alert(1)" x="',
    "'onfocus='alert(1)' autofocus '",
    "</textarea><img src=x onerror=alert(1)>",
    "</style><svg onload=alert(1)>",
    "&lt;b&gt; & <!-- -->",
]
RAW = (
    "<script",
    "</textarea",
    "<img",
    "<svg onload",
    "</style><svg",
    '"onmouseover=',
    "'onfocus=",
    "<!--",
    "&lt;b&gt;",
)
TODAY = date(2026, 12, 1)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_on_the_statements_page_is_escaped(text):
    # Given an invoice issued to a contact whose company, person and address are markup,
    # and a return invoice whose reason (typed by an operator) is markup too
    invoice = contact_invoice(text, text, department=text, person=text, delivery="web")
    record = {**invoice.as_record(), "status": "issued", "delivery_status": "published"}
    credit = {
        **record,
        "invoice_number": "CN-202610-0000001",
        "kind": "credit_note",
        "replaces": record["invoice_number"],
        "reason": text,
        "total": 1100,
        "tax": 100,
    }
    records = [record, credit]
    # When the customer opens the page
    html = render_page(
        [statements.detail(record, records, TODAY)],
        {record["month"]: f"https://bucket.example/x.pdf?a=1&sig={text}"},
        {record["month"]: f"https://bucket.example/x.xml?sig={text}"},
    )
    # Then none of it reaches the browser as markup: the reason shows escaped, quotes included
    leaked = [raw for raw in RAW if raw in html]
    assert not leaked, leaked
    assert (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
        in html
    )
    # and the only markup is the page's own: one style element and no script at all
    assert html.count("<style>") == 1 and "<script" not in html.lower()


def test_the_card_says_what_is_owed_in_japanese_and_marks_an_overdue_one():
    from datetime import date

    from billing.delivery.statement_page import _payment
    from billing.delivery.statements import payment_state

    record = {"invoice_number": "INV-202610-0000001", "amount_due": 7_700, "paid_amount": 1_000, "pay_by": "2026-11-30"}
    late = _payment(payment_state(record, date(2026, 12, 1)))
    assert "お支払期限超過" in late and 'class="payment overdue"' in late and "¥6,700" in late
    paid = _payment(payment_state({**record, "paid_amount": 7_700}, date(2026, 12, 1)))
    assert "入金済" in paid and "ご請求残高" not in paid and "overdue" not in paid
    assert _payment({}) == ""  # a statement from before the payment ledger


@pytest.mark.parametrize(
    ("payment_method", "collection", "shown"),
    [
        ("bank_transfer", None, True),  # a transfer invoice with something owed
        ("direct_debit", None, False),  # a debit not yet made: nothing to transfer
        ("direct_debit", "debit_failed", True),  # the debit failed: the customer is asked to transfer
    ],
)
def test_the_page_shows_where_to_transfer_and_the_customer_number_whenever_a_transfer_is_owed(
    payment_method, collection, shown
):
    from billing.delivery.statement_page import _payment
    from billing.delivery.statements import pay_to, payment_state
    from billing.invoicing.issuer import load_issuer

    issuer = load_issuer()
    record = {
        "invoice_number": "INV-202610-0000001",
        "payment_method": payment_method,
        "amount_due": 7_700,
        "paid_amount": 0,
        "pay_by": "2026-11-30",
        "collection": collection,
        "issuer": issuer.as_record(),
        "customer_number": "0000000018",
    }
    card = _payment(payment_state(record, date(2026, 11, 1)) | pay_to(record))
    assert ("お振込先" in card and issuer.bank.account_number in card) is shown
    assert ("0000000018" in card and "振込依頼人名の前にお客様番号" in card) is shown
    paid = _payment(
        payment_state({**record, "paid_amount": 7_700}, date(2026, 11, 1)) | pay_to({**record, "paid_amount": 7_700})
    )
    assert "お振込先" not in paid  # nothing owed, nothing to transfer
