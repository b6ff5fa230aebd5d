"""The request to transfer after a debit: what it must name, in Japanese."""

from __future__ import annotations

from datetime import date

import pytest

from billing.delivery.payment_notices import Owed, TransferRequest, WhyTransfer


def request(why=WhyTransfer.DEBIT_FAILED) -> TransferRequest:
    return TransferRequest(
        why=why,
        recipient_line="株式会社サンプル商事 経理部 御中",
        email="billing@sample.example",
        issuer_name="株式会社サンプルメール配信",
        customer_number="0000000018",
        bank_account="サンプル銀行 本店営業部 普通 1234567",
        account_holder="カ）サンプルメールハイシン",
        debit_on=date(2026, 11, 27),
        pay_by=date(2026, 12, 11),
        owed=(Owed("INV-202610-0000001", "2026-10", 12_100), Owed("COR-202609-0000003", "2026-09", 1_100)),
    )


def test_the_email_names_each_invoice_the_amount_the_account_the_customer_number_and_the_deadline():
    email = request().as_email()
    assert email.to == "billing@sample.example" and "お振込のお願い" in email.subject
    body = email.body
    for text in [
        "2026年11月27日の口座振替で",
        "請求書番号: INV-202610-0000001 (2026年10月ご利用分) ご請求残高: ¥12,100",
        "COR-202609-0000003",
        "お振込金額: ¥13,200",
        "お振込期限: 2026年12月11日",
        "サンプル銀行 本店営業部 普通 1234567",
        "お客様番号: 0000000018",
        "振込依頼人名の前にお客様番号",
        "行き違いでお支払いいただいている場合は、ご容赦ください。",
    ]:
        assert text in body, text


@pytest.mark.parametrize(
    ("why", "says"),
    [
        (WhyTransfer.DEBIT_FAILED, "お引き落としできませんでした"),
        (WhyTransfer.MANDATE_REJECTED, "口座振替のお手続きを改めて"),
        (WhyTransfer.NO_DEBIT_ACCOUNT, "お手続きが済んでいない"),
    ],
)
def test_each_reason_opens_in_its_own_words(why, says):
    assert says in request(why).as_email().body


@pytest.mark.parametrize(
    ("level", "title"), [(1, "お支払いのお願い"), (2, "お支払いのお願い (再送)"), (3, "最終のご案内")]
)
def test_a_reminder_names_the_invoice_month_balance_deadline_account_and_customer_number(level, title):
    from datetime import date

    from billing.delivery.payment_notices import Owed, PaymentReminder

    reminder = PaymentReminder(
        level=level,
        recipient_line="株式会社サンプル商事 経理部 御中",
        email="billing@example.co.jp",
        issuer_name="株式会社サンプルメール配信",
        customer_number="0000000018",
        bank_account="サンプル銀行 本店営業部 普通 1234567",
        account_holder="カ）サンプルメールハイシン",
        owed=Owed("INV-202610-0000001", "2026-10", 6_600),
        pay_by=date(2026, 11, 30),
    )
    email = reminder.as_email()
    assert email.subject.startswith("【株式会社サンプルメール配信】" + title) and "INV-202610-0000001" in email.subject
    for expected in (
        "INV-202610-0000001 (2026年10月ご利用分)",
        "¥6,600",
        "お支払期限: 2026年11月30日",
        "サンプル銀行 本店営業部 普通 1234567",
        "お客様番号: 0000000018",
        "振込依頼人名の前にお客様番号",
        "行き違いでお支払いいただいている場合は、ご容赦ください",
    ):
        assert expected in email.body, expected
