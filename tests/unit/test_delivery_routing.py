"""The routing table: payment × delivery method → channel and dates, across holidays and year end."""

import csv
import io
from dataclasses import replace
from datetime import date

import pytest

from billing.delivery.channels import manifest_csv, pack_letters, plan_delivery, statement_notification
from billing.invoicing.invoice import build_invoice
from billing.invoicing.issuer import load_issuer
from billing.invoicing.numbers import invoice_number
from billing.tariff import load_tariff
from billing.usage.counts import MonthUsage
from tests.factories import CONTACT, account_profile


def invoice(month, payment, delivery, account="acme", sequence=1):
    profile = account_profile(payment, delivery, account_id=account, contract_start="2024-01-01")
    usage = MonthUsage(account, month, opening_count=12_000)
    return build_invoice(invoice_number(month, sequence), profile, usage, load_tariff(), load_issuer())


@pytest.mark.parametrize(
    ("month", "payment", "delivery", "pay_date", "channel", "posting", "arrival"),
    [
        # issued Sun 2026-11-01; 11/3 文化の日 delays arrival
        ("2026-10", "bank_transfer", "web", date(2026, 11, 30), "web", None, None),
        ("2026-10", "direct_debit", "postal", date(2026, 11, 27), "postal", date(2026, 11, 2), date(2026, 11, 5)),
        # issued Tue 2026-12-01: 12/27 is a Sunday, so the debit moves to Mon 12/28
        ("2026-11", "direct_debit", "web", date(2026, 12, 28), "web", None, None),
        ("2026-11", "bank_transfer", "postal", date(2026, 12, 30), "postal", date(2026, 12, 2), date(2026, 12, 4)),
        # issued on New Year's Day 2027: banks and post rest until 1/4; 1/31 is a Sunday
        ("2026-12", "bank_transfer", "postal", date(2027, 1, 29), "postal", date(2027, 1, 4), date(2027, 1, 6)),
        ("2026-12", "direct_debit", "postal", date(2027, 1, 27), "postal", date(2027, 1, 4), date(2027, 1, 6)),
        # issued Sat 2027-05-01 in Golden Week: posted after 5/3-5/5, on Thu 5/6
        ("2027-04", "direct_debit", "postal", date(2027, 5, 27), "postal", date(2027, 5, 6), date(2027, 5, 10)),
    ],
)
def test_each_combination_ends_in_its_channel_with_its_dates(
    month, payment, delivery, pay_date, channel, posting, arrival
):
    issued = invoice(month, payment, delivery)
    plan = plan_delivery(issued)
    assert (plan.channel, plan.posting_on, plan.estimated_arrival) == (channel, posting, arrival)
    assert plan.available_on == issued.issued_on
    assert (issued.due_on if payment == "bank_transfer" else issued.debit_on) == pay_date


def test_the_web_notice_links_to_the_page_and_names_the_payment_date():
    email = statement_notification(invoice("2026-11", "direct_debit", "web"), "https://example.test/statements")
    assert email.to == CONTACT["email"]
    assert "https://example.test/statements" in email.body
    assert "口座振替日: 2026年12月28日" in email.body
    assert "添付" not in email.body


def test_letters_for_one_account_share_an_envelope():
    letters = pack_letters(
        [
            invoice("2026-10", "bank_transfer", "postal", "b", 2),
            invoice("2026-09", "bank_transfer", "postal", "a", 1),
            invoice("2026-10", "bank_transfer", "postal", "a", 3),
        ]
    )
    assert [(letter.invoice.account_id, letter.envelope) for letter in letters] == [("a", 1), ("a", 1), ("b", 2)]
    rows = manifest_csv("2026-11-02", letters).decode("utf-8-sig").splitlines()
    assert rows[0] == "batch_id,invoice_number,account_id,postal_code,address,recipient,pages,envelope,sheet"
    assert rows[1].startswith("2026-11-02,INV-202609-0000001,a,100-0005,")


def test_the_manifest_neutralises_what_a_spreadsheet_would_run_and_keeps_the_text():
    # Given letters whose customer typed formulas into their address and company name
    hostile = invoice("2026-10", "bank_transfer", "postal", "a", 1)
    contact = replace(
        hostile.recipient, address='=HYPERLINK("http://evil.example","x")', company_name="+cmd|' /C calc'!A0"
    )
    hostile = replace(hostile, recipient=contact, recipient_line="@SUM(1+1)*cmd 御中")
    # When the mail house opens the manifest
    (_, row) = list(csv.reader(io.StringIO(manifest_csv("2026-11-02", pack_letters([hostile])).decode("utf-8-sig"))))
    # Then each such cell starts with a quote, and what follows is exactly what the customer wrote
    assert row[4] == "'" + contact.address and row[5] == "'@SUM(1+1)*cmd 御中"
    assert (row[6], row[7], row[8]) == ("1", "1", "1")  # our own numbers stay numbers


def test_the_manifest_neutralises_a_formula_behind_blanks_or_in_full_width():
    # Given a customer who hid formulas behind an ideographic space, a zero-width space, or in full width
    hostile = invoice("2026-10", "bank_transfer", "postal", "a", 1)
    contact = replace(hostile.recipient, address='\u3000=HYPERLINK("http://evil.example","x")')
    hostile = replace(hostile, recipient=contact, recipient_line="\u200b＋cmd|' /C calc'!A0 御中")
    # When the mail house opens the manifest
    (_, row) = list(csv.reader(io.StringIO(manifest_csv("2026-11-02", pack_letters([hostile])).decode("utf-8-sig"))))
    # Then those cells start with a quote, and the others are as they were
    assert row[4] == "'" + contact.address and row[5] == "'" + hostile.recipient_line
    assert row[3] == contact.postal_code and (row[6], row[7], row[8]) == ("1", "1", "1")
