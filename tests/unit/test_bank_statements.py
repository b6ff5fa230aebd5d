"""The bank's 振込入金通知 (Zengin 01), read whole and checked first, and each credit matched to its account."""

from __future__ import annotations

from datetime import date

import pytest

from billing.contracts.payment_details import customer_number
from billing.payments.bank_statements import customer_number_of, match, read_transfer_notice
from billing.zengin.era import as_reiwa
from billing.zengin.records import BankFileError
from local.bank import transfer_notice

NUMBER = customer_number(42)  # 0000000422
CREDITS = [
    {"inquiry_number": "000101", "booked_on": "081201", "amount": 11_000, "payer_code": NUMBER, "payer_name": "ｻｸﾗ"},
    {"inquiry_number": "000102", "booked_on": "081201", "amount": 7_260, "payer_name": f"{NUMBER} ﾔﾏﾀﾞ ﾀﾛｳ"},
    {"inquiry_number": "000103", "booked_on": "081202", "amount": 5_060, "payer_name": "ｶ)ｱｵｿﾞﾗ ﾌﾞﾂｸｽ"},
    {"inquiry_number": "000101", "booked_on": "081202", "amount": 11_000, "payer_name": "ｻｸﾗ", "cancellation": "1"},
]


def test_a_notice_is_read_into_credits_with_their_identity_and_reiwa_dates():
    credits = read_transfer_notice(transfer_notice(CREDITS))
    first = credits[0]
    assert (first.booked_on, first.amount, first.payer_code, first.record) == (date(2026, 12, 1), 11_000, NUMBER, 2)
    assert first.payment_id == "0999-001-11234567-00000101-20261201-11000"
    assert [c.cancelled for c in credits] == [False, False, False, True]
    assert credits[1].payer_code is None  # blank: none given
    assert credits[3].cancels == first.cancels and credits[3].payment_id != first.payment_id
    assert as_reiwa(date(2026, 12, 1)) == "081201"


def swap(body: bytes, record: int, start: int, new: bytes) -> bytes:
    """``body`` with record ``record`` (from 1) overwritten at byte ``start`` (from 0) by ``new``."""
    lines = body.split(b"\r\n")
    lines[record - 1] = lines[record - 1][:start] + new + lines[record - 1][start + len(new) :]
    return b"\r\n".join(lines)


@pytest.mark.parametrize(
    ("damage", "record", "field"),
    [
        (lambda b: swap(b, 5, 127, b"0"), 6, "振込合計件数"),  # a cancellation turned into a credit
        (lambda b: swap(b, 2, 19, b"0000011001"), 6, "振込合計金額"),  # an amount that differs
        (lambda b: swap(b, 2, 7, b"080231"), 2, "勘定日"),  # no 31 February
        (lambda b: swap(b, 2, 7, b"000101"), 2, "勘定日"),  # 令和 has no year 0
        (lambda b: swap(b, 1, 4, b"991301"), 1, "作成日"),
        (lambda b: swap(b, 2, 39, b"ABC       "), 2, "振込依頼人コード"),
        (lambda b: swap(b, 2, 127, b"2"), 2, "取消区分"),
        (lambda b: swap(b, 3, 60, "ア".encode("cp932")), 3, "byte 61"),  # full-width in a half-width field
        (lambda b: b[:-5], 7, "レコード長"),
    ],
    ids=[
        "trailer-count",
        "trailer-sum",
        "no-such-day",
        "before-reiwa",
        "header-date",
        "code",
        "cancel",
        "wide",
        "short",
    ],
)
def test_a_file_that_is_not_what_it_says_is_refused_naming_record_and_field(damage, record, field):
    with pytest.raises(BankFileError) as fault:
        read_transfer_notice(damage(transfer_notice(CREDITS)))
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


def test_credits_match_by_customer_number_first_then_by_one_accounts_payer_name_never_by_amount():
    credits = read_transfer_notice(transfer_notice(CREDITS))
    numbers = {NUMBER: "yamada"}
    names = {"ｱｵｿﾞﾗﾌﾞﾂｸｽ": {"aozora"}, "ｻｸﾗ": {"sakura", "sakura-2"}}

    def account_of(number):
        return numbers.get(number)

    def named(key):
        return names.get(key, set())

    assert [customer_number_of(c) for c in credits[:3]] == [NUMBER, NUMBER, None]
    assert match(credits[0], account_of, named) == "yamada"  # the code
    assert match(credits[1], account_of, named) == "yamada"  # the number before the name
    assert match(credits[2], account_of, named) == "aozora"  # the name, its legal form and spaces dropped
    ambiguous = read_transfer_notice(transfer_notice([{**CREDITS[2], "payer_name": "ｻｸﾗ"}]))[0]
    assert match(ambiguous, account_of, named) is None  # two accounts by that name: an operator decides
    mistyped = read_transfer_notice(transfer_notice([{**CREDITS[1], "payer_name": "0000000423 ﾔﾏﾀﾞ"}]))[0]
    assert customer_number_of(mistyped) is None  # a wrong check digit is no customer number
