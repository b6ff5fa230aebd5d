"""Zengin files as data: the 口座振替 (91) layout written and read, faults named by record and field, and
names in the bank's kana form."""

from __future__ import annotations

import pytest

from billing.zengin.kana import NotZenginText, payer_key, to_zengin
from billing.zengin.layouts import DIRECT_DEBIT
from billing.zengin.records import BankFileError

HEADER = {
    "consignor_code": "1234567890",
    "consignor_name": "ｶ)ﾖﾒｲﾙ",
    "debit_date": "1227",
    "bank_code": "0001",
    "bank_name": "ﾐｽﾞﾎ",
    "branch_code": "100",
    "branch_name": "ﾄｳｷﾖｳ",
    "account_type": "1",
    "account_number": "1234567",
}
DATA = {
    "bank_code": "0005",
    "branch_code": "001",
    "account_type": "1",
    "account_number": "0012345",
    "holder": "ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ",
    "amount": 11000,
    "new_code": "1",
    "customer_number": "0000000042",
    "result_code": "0",
}
ROWS = [("1", HEADER), ("2", DATA), ("8", {"count": 1, "total": 11000}), ("9", {})]


def test_every_record_is_120_bytes_of_jis_x_0201_with_cr_lf():
    body = DIRECT_DEBIT.write(ROWS)
    records = body.split(b"\r\n")
    assert records[-1] == b"" and [len(r) for r in records[:-1]] == [120] * 4
    assert all(0x20 <= b <= 0x7E or 0xA1 <= b <= 0xDF for b in body.replace(b"\r\n", b""))
    header, data, trailer, end = records[:4]
    assert header[:4] == b"1910" and header[4:14] == b"1234567890" and header[54:58] == b"1227"
    assert data[:5] == b"20005" and data[42:43] == b"1" and data[43:50] == b"0012345"
    assert data[80:90] == b"0000011000"  # 引落金額, right-aligned, zero-filled
    assert data[90:91] == b"1" and data[91:111] == b"0" * 18 + b"42" and data[111:112] == b"0"
    assert trailer[:19] == b"8000001000000011000" and end == b"9" + b" " * 119


def test_what_is_written_reads_back_the_same():
    read = DIRECT_DEBIT.read(DIRECT_DEBIT.write(ROWS))
    assert [kind for kind, _ in read] == ["1", "2", "8", "9"]
    data = read[1][1]
    assert data["holder"] == "ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ" and data["amount"] == "0000011000" and data["bank_name"] == ""


@pytest.mark.parametrize(
    "variant",
    [
        lambda body: body.replace(b"\r\n", b""),  # no line ends at all
        lambda body: body + b"\x1a",  # an end-of-file mark
        lambda body: body.removesuffix(b"\r\n"),  # no CR LF after the last record
    ],
    ids=["no-line-ends", "eof-mark", "no-last-cr-lf"],
)
def test_the_bank_may_end_records_with_cr_lf_or_nothing(variant):
    assert DIRECT_DEBIT.read(variant(DIRECT_DEBIT.write(ROWS))) == DIRECT_DEBIT.read(DIRECT_DEBIT.write(ROWS))


@pytest.mark.parametrize(
    ("record", "damage", "field"),
    [
        (3, lambda r: r[:-1], "レコード長"),
        (2, lambda r: b"7" + r[1:], "データ区分"),
        (2, lambda r: r[:80] + b"00000110X0" + r[90:], "引落金額"),
        (1, lambda r: r[:1] + b"21" + r[3:], "種別コード"),
        (2, lambda r: r[:60] + b"\x82\xa0" + r[62:], "byte 61"),
    ],
    ids=["short-record", "unknown-kind", "letter-in-amount", "wrong-type-code", "double-byte"],
)
def test_a_fault_names_its_record_and_field(record, damage, field):
    records = DIRECT_DEBIT.write(ROWS).split(b"\r\n")[:-1]
    records[record - 1] = damage(records[record - 1])
    with pytest.raises(BankFileError) as fault:
        DIRECT_DEBIT.read(b"\r\n".join(records))
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


def test_a_file_that_is_not_whole_records_is_refused():
    with pytest.raises(BankFileError, match="not whole records"):
        DIRECT_DEBIT.read(DIRECT_DEBIT.write(ROWS).replace(b"\r\n", b"")[:-3])
    with pytest.raises(BankFileError, match="no record"):
        DIRECT_DEBIT.read(b"")


def test_a_value_wider_than_its_field_is_never_cut():
    with pytest.raises(ValueError, match="委託者名"):
        DIRECT_DEBIT.write([("1", {**HEADER, "consignor_name": "ｱ" * 41})])
    with pytest.raises(ValueError, match="must be digits"):
        DIRECT_DEBIT.write([("2", {**DATA, "amount": -5})])


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("カ）サンプルショウジ", "ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ"),  # full-width, small kana written large
        ("ｶ)ｻﾝﾌﾟﾙｼｮｳｼﾞ", "ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ"),
        ("ヤマダ　タロー", "ﾔﾏﾀﾞ ﾀﾛ-"),  # full-width space, the prolonged sound mark as '-'
        ("ＡＢＣ　１２３", "ABC 123"),
        ("ヴィッツ", "ｳﾞｲﾂﾂ"),
    ],
)
def test_names_are_stored_in_the_banks_form(given, stored):
    assert to_zengin(given, 30) == stored


@pytest.mark.parametrize("given", ["abc", "山田", "ｱ" * 31, "   ", "ｶ)ｻﾝﾌﾟﾙ&"])
def test_a_name_the_bank_cannot_carry_is_refused(given):
    with pytest.raises(NotZenginText):
        to_zengin(given, 30)


def test_payer_names_compare_without_spaces_and_legal_form():
    keys = {payer_key(name) for name in ("ｶ)ｻﾝﾌﾟﾙ ｼｮｳｼﾞ", "ｻﾝﾌﾟﾙｼﾖｳｼﾞ(ｶ", "サンプルショウジ", "ｻﾝﾌﾟﾙｼﾖｳｼﾞ(ｶ)")}
    assert keys == {"ｻﾝﾌﾟﾙｼﾖｳｼﾞ"}
    assert payer_key("ﾕ)ｻﾝﾌﾟﾙ") != payer_key("ｻﾝﾌﾟﾙｼﾖｳｼﾞ")
