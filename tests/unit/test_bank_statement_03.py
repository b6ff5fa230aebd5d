"""The bank's 入出金取引明細 (Zengin 03): its layout where the published one puts each field, its credits (入金 by
振込 only), its trailer and balances checked against the records, and ``read_bank_file`` telling 01 from 03 and
refusing anything else with ``BankFileError``."""

from __future__ import annotations

import random
import time
from datetime import date

import pytest

from billing.contracts.payment_details import customer_number
from billing.payments.bank_statements import read_bank_file, read_statement, read_transfer_notice
from billing.zengin.layouts import DIRECT_DEBIT, STATEMENT
from billing.zengin.records import BankFileError
from local.bank import transfer_notice

NUMBER = customer_number(42)  # 0000000422
HEADER = {
    "created_on": "081231",
    "booked_from": "081201",
    "booked_to": "081231",
    "bank_code": "0999",
    "bank_name": "ｻﾝﾌﾟﾙ",
    "branch_code": "001",
    "branch_name": "ﾎﾝﾃﾝ",
    "reserved": "000",
    "account_type": "1",
    "account_number": "0001234567",
    "account_name": "ｶ)ｻﾝﾌﾟﾙﾒ-ﾙﾊｲｼﾝ",
    "passbook": "1",
}
FIRST = {  # written byte by byte in test_each_field_sits_where_the_published_layout_puts_it
    "inquiry_number": "00000101",
    "booked_on": "081201",
    "direction": "1",
    "transaction_kind": "11",
    "amount": 11_000,
    "payer_code": NUMBER,
    "payer_name": "ｻｸﾗ",
    "sending_bank": "ﾐｽﾞﾎ",
    "sending_branch": "ﾎﾝﾃﾝ",
    "description": "ﾌﾘｺﾐ",
    "edi": "INV-0001",
}
RECORDS = [  # records 2 to 8; the trailer is record 9, the end record 10
    FIRST,  # 入金, 振込: a credit
    {"inquiry_number": "00000102", "booked_on": "081202", "direction": "1", "transaction_kind": "11",
     "amount": 7_260, "payer_code": "0000000000", "payer_name": f"{NUMBER} ﾔﾏﾀﾞ ﾀﾛｳ"},  # a credit, no payer code
    {"inquiry_number": "00000103", "booked_on": "081203", "direction": "1", "transaction_kind": "10",
     "amount": 30_000, "payer_name": ""},  # 入金, 現金: not a credit
    {"inquiry_number": "00000104", "booked_on": "081205", "direction": "2", "transaction_kind": "11",
     "amount": 55_000, "payer_name": "ｶ)ｼｲﾚｻｷ"},  # 出金, 振込: a payment out
    {"inquiry_number": "00000105", "booked_on": "081210", "direction": "2", "transaction_kind": "14",
     "amount": 3_300, "payer_name": "12345678901234567890"},  # 出金, 振替 (a direct debit's contract number)
    {"inquiry_number": "00000106", "booked_on": "081215", "direction": "1", "transaction_kind": "",
     "amount": 1_000, "payer_name": ""},  # 入金 of no stated kind: not a credit
    {"inquiry_number": "12345678", "booked_on": "081231", "direction": "1", "transaction_kind": "11",
     "amount": 5_060, "payer_code": "          ", "payer_name": "ｶ)ｱｵｿﾞﾗ ﾌﾞﾂｸｽ"},  # a credit, 8-digit 照会番号
]  # fmt: skip
DEPOSITS = 11_000 + 7_260 + 30_000 + 1_000 + 5_060  # 54,320 in 5 records
WITHDRAWALS = 55_000 + 3_300  # 58,300 in 2 records
OPENING = 500_000
CLOSING = OPENING + DEPOSITS - WITHDRAWALS  # 496,020
TRAILER = 9
NOTICE_CREDIT = {  # the first credit as a 振込入金通知 (01) has it
    "inquiry_number": "000101",
    "booked_on": "081201",
    "amount": 11_000,
    "payer_code": NUMBER,
    "payer_name": "ｻｸﾗ",
}


def statement(
    records: list[dict] = RECORDS,
    opening: tuple[str, int | str] = ("1", OPENING),
    closing: tuple[str, int | str] | None = None,
) -> bytes:
    """A 入出金取引明細 of ``records``: the trailer's figures those of the records, the closing balance the opening
    one plus deposits minus withdrawals unless given; a balance is ``(貸越区分, amount)``, the amount "" for none."""
    values = [{"value_date": r["booked_on"], "other_bank_checks": 0, **r} for r in records]
    ins = [r["amount"] for r in values if r["direction"] == "1"]
    outs = [r["amount"] for r in values if r["direction"] == "2"]
    if closing is None:
        signed = int(opening[1]) * (-1 if opening[0] == "2" else 1) + sum(ins) - sum(outs)
        closing = ("1" if signed >= 0 else "2", abs(signed))
    trailer = {
        "deposit_count": len(ins),
        "deposit_total": sum(ins),
        "withdrawal_count": len(outs),
        "withdrawal_total": sum(outs),
        "closing_sign": closing[0],
        "closing_balance": _balance(closing[1]),
        "data_count": len(values),
    }
    header = {**HEADER, "opening_sign": opening[0], "opening_balance": _balance(opening[1])}
    rows = [("1", header), *(("2", v) for v in values), ("8", trailer), ("9", {"record_count": len(values) + 3})]
    return STATEMENT.write(rows)


def _balance(amount: int | str) -> str:
    return amount if isinstance(amount, str) else f"{amount:014d}"


def swap(body: bytes, record: int, start: int, new: bytes) -> bytes:
    """``body`` with record ``record`` (from 1) overwritten at byte ``start`` (from 0) by ``new``."""
    lines = body.split(b"\r\n")
    lines[record - 1] = lines[record - 1][:start] + new + lines[record - 1][start + len(new) :]
    return b"\r\n".join(lines)


def insert(body: bytes, record: int, new: bytes) -> bytes:
    """``body`` with ``new`` as its record ``record`` (from 1)."""
    lines = body.split(b"\r\n")
    lines.insert(record - 1, new)
    return b"\r\n".join(lines)


def test_each_field_sits_where_the_published_layout_puts_it():
    records = statement().split(b"\r\n")
    assert records[-1] == b"" and [len(r) for r in records[:-1]] == [200] * 10
    header, data, trailer, end = records[0], records[1], records[TRAILER - 1], records[TRAILER]
    # The header: 種別コード 03, then (0-based byte offsets) 口座番号 63-72 (10 digits), 取引前残高 115-128.
    assert header[:4] == b"1030" and header[4:22] == b"081231081201081231" and header[22:26] == b"0999"
    assert header[59:62] == b"000" and header[62:63] == b"1" and header[63:73] == b"0001234567"
    assert header[113:115] == b"11" and header[115:129] == b"00000000500000" and header[129:] == b" " * 71
    # The first data record, byte by byte as the published layout has it: 照会番号 8, 勘定日, 預入・払出日,
    # 入払区分, 取引区分, 取引金額 12 (bytes 24-35), うち他店券金額 12, 交換呈示日, 不渡返還日, 手形・小切手区分
    # and 番号, 僚店番号, 振込依頼人コード 10, 振込依頼人名 48, 仕向銀行名 15, 仕向店名 15, 摘要内容 20,
    # EDI情報 20, ダミー 1.
    by_hand = (
        b"2" + b"00000101" + b"081201" + b"081201" + b"1" + b"11" + b"000000011000" + b"000000000000"
        + b" " * 6 + b" " * 6 + b" " + b" " * 7 + b" " * 3
        + NUMBER.encode() + "ｻｸﾗ".encode("cp932").ljust(48) + "ﾐｽﾞﾎ".encode("cp932").ljust(15)
        + "ﾎﾝﾃﾝ".encode("cp932").ljust(15) + "ﾌﾘｺﾐ".encode("cp932").ljust(20) + b"INV-0001".ljust(20) + b" "
    )  # fmt: skip
    assert len(by_hand) == 200 and data == by_hand
    assert data[24:36] == b"000000011000" and data[71:81] == NUMBER.encode()
    # The trailer: 入金件数 6, 入金額合計 13, 出金件数 6, 出金額合計 13, 貸越区分, 取引後残高 14,
    # データ・レコード件数 7.
    assert trailer[1:7] == b"000005" and trailer[7:20] == b"0000000054320"
    assert trailer[20:26] == b"000002" and trailer[26:39] == b"0000000058300"
    assert trailer[39:40] == b"1" and trailer[40:54] == b"00000000496020" and trailer[54:61] == b"0000007"
    assert end == b"9" + b"10".ljust(10) + b" " * 5 + b" " * 184


def test_the_credits_are_the_deposits_by_transfer_as_the_file_wrote_them():
    credits = read_statement(statement())
    assert [c.record for c in credits] == [2, 3, 8]
    first, second, third = credits
    assert (first.booked_on, first.amount, first.payer_code, first.payer_name) == (
        date(2026, 12, 1),
        11_000,
        NUMBER,
        "ｻｸﾗ",
    )
    assert first.inquiry_number == "00000101" and third.inquiry_number == "12345678"  # 8 digits, as written
    assert second.payer_code is None and third.payer_code is None  # zeros, spaces: none given
    assert not any(c.cancelled for c in credits)  # 03 has no 取消区分
    # The 10-digit 口座番号 is the 7-digit one of a 01 file: the same account, the same key.
    assert first.account.account_number == "1234567"
    assert first.payment_id == "0999-001-11234567-00000101-20261201-11000"
    notice = read_transfer_notice(transfer_notice([NOTICE_CREDIT]))
    assert notice[0].account == first.account
    # And the same transfer in the 01 notice (照会番号 in 6 digits) is the same payment: imported once
    assert (notice[0].payment_id, notice[0].cancels) == (first.payment_id, first.cancels)


def test_records_may_end_with_cr_lf_or_nothing():
    body = statement()
    assert read_statement(body.replace(b"\r\n", b"")) == read_statement(body) == read_statement(body + b"\x1a")


def test_a_statement_with_no_credit_reads_as_none():
    payments_out = [r for r in RECORDS if r["direction"] == "2"]
    assert read_statement(statement(payments_out)) == []
    assert read_statement(statement([])) == []


@pytest.mark.parametrize(
    ("damage", "record", "field"),
    [
        (lambda b: swap(b, TRAILER, 1, b"000004"), TRAILER, "入金件数"),
        (lambda b: swap(b, TRAILER, 7, b"0000000054321"), TRAILER, "入金額合計"),
        (lambda b: swap(b, TRAILER, 20, b"000001"), TRAILER, "出金件数"),  # the payments out are counted
        (lambda b: swap(b, TRAILER, 26, b"0000000055000"), TRAILER, "出金額合計"),
        (lambda b: swap(b, TRAILER, 54, b"0000006"), TRAILER, "データ・レコード件数"),
        (lambda b: swap(b, 6, 21, b"1"), TRAILER, "入金件数"),  # a payment out turned into a deposit
        (lambda b: swap(b, 2, 24, b"000000011001"), TRAILER, "入金額合計"),  # an amount that differs
    ],
    ids=["deposit-count", "deposit-sum", "withdrawal-count", "withdrawal-sum", "data-count", "direction", "amount"],
)
def test_a_trailer_that_does_not_count_the_records_is_refused(damage, record, field):
    with pytest.raises(BankFileError) as fault:
        read_statement(damage(statement()))
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


def test_the_balance_after_is_the_balance_before_plus_deposits_less_withdrawals():
    # An overdraft (貸越区分 2) before, plus 54,320, less 58,300: 13,980 overdrawn after.
    assert len(read_statement(statement(opening=("2", 10_000), closing=("2", 13_980)))) == 3
    assert len(read_statement(statement(opening=("1", 3_980)))) == 3  # 0 after
    # A balance not given (貸越区分 0 or blank), before or after: nothing to check.
    assert len(read_statement(statement(opening=("0", 0), closing=("0", 0)))) == 3
    assert len(read_statement(statement(opening=(" ", ""), closing=("1", 123)))) == 3
    assert len(read_statement(statement(opening=("1", 7), closing=("", "")))) == 3


@pytest.mark.parametrize(
    ("body", "record", "field"),
    [
        (lambda: statement(closing=("1", CLOSING + 1)), TRAILER, "取引後残高"),
        (lambda: statement(opening=("2", OPENING), closing=("1", CLOSING)), TRAILER, "取引後残高"),  # the sign
        (lambda: swap(statement(), 1, 115, b"00000000500001"), TRAILER, "取引後残高"),
        (lambda: statement(opening=("3", OPENING)), 1, "貸越区分"),
        (lambda: statement(closing=("1", "")), TRAILER, "取引後残高"),  # a sign and no balance
        (lambda: statement(opening=("1", "12345")), 1, "取引前残高"),  # not 14 digits
    ],
    ids=["closing", "sign", "opening", "bad-sign", "sign-without-balance", "short-balance"],
)
def test_a_balance_that_does_not_add_up_is_refused(body, record, field):
    with pytest.raises(BankFileError) as fault:
        read_statement(body())
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


@pytest.mark.parametrize(
    ("damage", "record", "field"),
    [
        (lambda b: swap(b, 2, 9, b"000101"), 2, "勘定日"),  # 令和 has no year 0
        (lambda b: swap(b, 2, 9, b"010430"), 2, "勘定日"),  # 2019-04-30: still 平成
        (lambda b: swap(b, 2, 9, b"080231"), 2, "勘定日"),  # no 31 February
        (lambda b: swap(b, 3, 15, b"081232"), 3, "預入・払出日"),
        (lambda b: swap(b, 1, 4, b"000101"), 1, "作成日"),
        (lambda b: swap(b, 1, 16, b"081301"), 1, "勘定日(至)"),  # no 13th month
        (lambda b: swap(b, 2, 21, b"3"), 2, "入払区分"),
        (lambda b: swap(b, 2, 22, b"1A"), 2, "取引区分"),
        (lambda b: swap(b, 2, 71, b"ABC       "), 2, "振込依頼人コード"),
        (lambda b: swap(b, 1, 1, b"01"), 1, "種別コード"),  # a 01 header on a 03 file
        (lambda b: swap(b, 3, 90, "ア".encode("cp932")), 3, "byte 91"),  # full-width in a half-width field
        (lambda b: insert(b, 4, b.split(b"\r\n")[0]), 4, "データ区分"),  # a second account's header
    ],
    ids=[
        "year-0",
        "before-reiwa",
        "no-such-day",
        "value-date",
        "header-date",
        "header-to",
        "direction",
        "kind",
        "code",
        "type",
        "wide",
        "second-header",
    ],
)
def test_a_record_that_is_not_what_the_layout_says_is_refused(damage, record, field):
    with pytest.raises(BankFileError) as fault:
        read_statement(damage(statement()))
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


@pytest.mark.parametrize(
    ("body", "record", "field"),
    [
        (lambda b: b[:-5], 10, "レコード長"),  # the end record cut short
        (lambda b: swap(b, 5, 200, b" "), 5, "レコード長"),  # a record of 201 bytes
        (lambda b: b"\r\n".join(r[:120] for r in b.split(b"\r\n")), 1, "レコード長"),  # 120-byte records
        (lambda b: b.replace(b"\r\n", b"")[:-1], 10, "レコード長"),  # no line ends, and not whole records
    ],
    ids=["short-end", "wide-record", "120-bytes", "not-whole"],
)
def test_a_file_of_the_wrong_width_is_refused(body, record, field):
    with pytest.raises(BankFileError) as fault:
        read_bank_file(body(statement()))
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


def test_read_bank_file_reads_a_01_or_a_03_file_by_its_type_code():
    notice = transfer_notice([NOTICE_CREDIT])
    assert read_bank_file(notice) == read_transfer_notice(notice) != []
    assert read_bank_file(statement()) == read_statement(statement())
    assert [c.record for c in read_bank_file(statement())] == [2, 3, 8]


NOISE = random.Random(1).randbytes(1_000_000)


@pytest.mark.parametrize(
    "body",
    [
        swap(statement(), 1, 1, b"02"),  # 口座振替 or any other 種別コード
        DIRECT_DEBIT.write([("1", {}), ("8", {}), ("9", {})]),  # 120-byte records, 種別コード 91
        b"",
        b"1",
        b"\r\n",
        b"hello, world",
        "１０３".encode("cp932"),
        NOISE,
        b"103" + NOISE,  # random bytes behind a 03 header's first bytes
        b"101" + NOISE,
        (b"103" + NOISE.replace(b"\r\n", b""))[:200_000],  # whole 200-byte records of noise
        b"103" + b"0" * 197 + b"\r\n" + NOISE,
    ],
    ids=[
        "type-02",
        "debit-91",
        "empty",
        "one-byte",
        "cr-lf",
        "text",
        "full-width",
        "noise",
        "noise-03",
        "noise-01",
        "noise-records",
        "noise-after-header",
    ],
)
def test_read_bank_file_refuses_anything_else_with_a_bank_file_error_quickly(body):
    started = time.perf_counter()
    with pytest.raises(BankFileError):
        read_bank_file(body)
    assert time.perf_counter() - started < 2.0
