"""The sample invoice the PDF and e-invoice benchmarks render, and the unit tests read (one builder for both).

By default: October 2026 for 株式会社サンプル商事 (account ``acme``), standard plan with
the bridge option, bank transfer, web delivery, a daily high for every day of the
month peaking at 12,345 on the 25th; customer number 100000001-8 (a direct debit draws on a
sample account, ****567). Needs the domain layer on ``sys.path``
(``benchmarks._support.use_project_paths``, or pytest's ``pythonpath``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.invoicing.invoice import Invoice


def sample_invoice(payment="bank_transfer", delivery="web", person="山田 太郎", month="2026-10", sequence=1) -> Invoice:
    """A whole invoice, built with the domain code (imported here, so the caller chooses when)."""
    from billing import months
    from billing.contracts.accounts import AccountProfile, BillingContact
    from billing.contracts.payment_details import DebitAccount, customer_number
    from billing.invoicing.invoice import build_invoice
    from billing.invoicing.issuer import load_issuer
    from billing.invoicing.numbers import invoice_number
    from billing.tariff import load_tariff
    from billing.usage.counts import MonthUsage, Reading

    contact = BillingContact(
        company_name="株式会社サンプル商事",
        postal_code="100-0005",
        address="東京都千代田区丸の内1-1-1 サンプルタワー12階",
        email="billing@example.co.jp",
        phone="03-1234-5678",
        department="経理部",
        person_name=person,
    )
    debit = DebitAccount.of(
        bank_code="0005", branch_code="123", account_type="ordinary", account_number="1234567", holder_kana="ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ"
    )
    profile = AccountProfile(
        "acme",
        "standard",
        ("bridge",),
        payment,
        delivery,
        date(2026, 4, 1),
        contact,
        debit_account=debit if payment == "direct_debit" else None,
    )
    first = months.first_day(month)
    days = {}
    for n in range((months.last_day(month) - first).days + 1):
        day = first + timedelta(days=n)
        count = 12_345 if n == 24 else 9_000 + 90 * n
        days[day] = Reading(count, months.to_micros(datetime(day.year, day.month, day.day, 10, 0, tzinfo=months.TOKYO)))
    usage = MonthUsage("acme", month, 9_000, days)
    return build_invoice(
        invoice_number(month, sequence),
        profile,
        usage,
        load_tariff(),
        load_issuer(),
        customer_number=customer_number(1),
    )
