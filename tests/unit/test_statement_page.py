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


CURRENT = {  # GET /v1/usage/current: acme's December so far (standard + bridge)
    "month": "2026-12",
    "peak": 10_500,
    "peak_observed_at": "2026-12-03T14:05:00+09:00",
    "bracket": {"index": 2, "from": 10_001, "to": 20_000},
    "estimate": {"subtotal": 10_000, "tax": 1_000, "total": 11_000},
    "daily": [{"date": "2026-12-02", "high": 8_000}, {"date": "2026-12-03", "high": 10_500}],
}


def test_the_page_opens_with_the_month_so_far():
    # Given a customer with a statement and a month under way
    invoice = contact_invoice("株式会社サンプル商事", "東京都千代田区丸の内1-1-1", delivery="web")
    record = {**invoice.as_record(), "status": "issued", "delivery_status": "published"}
    # When the page is drawn
    html = render_page([statements.detail(record, [record], TODAY)], {}, current=CURRENT)
    # Then the 今月のご利用状況 card comes before every statement, and says the month, the peak and when,
    # the bracket, the estimate with its subtotal and tax, and why deleting records does not lower it
    card = html[html.index('<section class="current"') : html.index("</section>")]
    assert html.index('<section class="current"') < html.index('<section class="statement"')
    assert "今月のご利用状況" in card and "2026年12月" in card
    assert '<dd class="current-peak">10,500件' in card and "2026年12月3日 14:05 時点" in card
    assert '<dd class="current-bracket">10,001〜20,000件</dd>' in card
    assert (
        '<span class="amount">¥11,000</span> (税込)' in card
        and '小計 ¥10,000</span> ・ <span class="part">消費税 ¥1,000' in card
    )
    assert "ピーク" in card and "削除しても、ピークは下がりません" in card
    # And its chart is the statements' own: a bar a day, the peak day marked, the bracket lines, no past-tense note
    assert card.count('class="day"') == 1 and card.count('class="day peak"') == 1
    assert 'data-date="2026-12-03" data-high="10500"' in card and 'class="bracket"' in card
    assert "この料金になりました" not in card
    assert card.count("<svg") == 1 and "<script" not in html.lower()


def test_the_card_of_a_month_with_no_report_yet_shows_the_opening_count():
    opening = {**CURRENT, "peak": 9_800, "peak_observed_at": "2026-12-01T00:00:00+09:00", "daily": []}
    html = render_page([], {}, current={**opening, "bracket": {"index": 1, "from": 0, "to": 10_000}})
    assert "9,800件" in html and "月初の件数" in html and "0〜10,000件" in html
    assert "この月の件数報告はありません (月初の件数 9,800件)" in html and "<svg" not in html
    assert html.index("今月のご利用状況") < html.index("表示できる請求書はまだありません")
    nothing = render_page([], {}, current={**opening, "peak": 0, "peak_observed_at": None})
    assert "まだ件数の報告はありません" in nothing


def test_a_page_without_the_month_has_no_card():
    assert "今月のご利用状況" not in render_page([], {})
