"""The debit run's request file and the bank's results, checked whole against the run."""

from __future__ import annotations

from datetime import date

import pytest

from billing.contracts.payment_details import DebitAccount, customer_number
from billing.invoicing.issuer import Collector, load_collector
from billing.payments.debit_file import DebitRecord, Outcome, read_results, request_file
from billing.zengin.records import BankFileError

COLLECTOR = Collector("1234567890", "ｶ)ｻﾝﾌﾟﾙﾒ-ﾙﾊｲｼﾝ", "0001", "ｻﾝﾌﾟﾙ", "100", "ﾎﾝﾃﾝ", "1", "1234567")
DEBIT_DATE = date(2026, 11, 27)


def record(n: int, amount: int, first: bool = False) -> DebitRecord:
    account = DebitAccount.of(
        bank_code="0005", branch_code=f"{n:03d}", account_type="ordinary", account_number=f"{n}0", holder_kana="ﾔﾏﾀﾞ ﾀﾛｳ"
    )
    return DebitRecord(f"acct-{n}", customer_number(n), account, amount, first, (f"INV-202610-{n:07d}",))


RECORDS = [record(2, 5_500), record(1, 12_100, first=True), record(3, 33_000)]


def results_file(codes: dict[str, str], records=RECORDS) -> bytes:
    """The bank's answer: the request with each record's result code and the trailer's figures filled in."""
    lines = request_file(COLLECTOR, DEBIT_DATE, records).split(b"\r\n")[:-1]
    by_number = {r.customer_number.zfill(20).encode(): r for r in records}
    paid = failed = paid_total = failed_total = 0
    for i, line in enumerate(lines):
        if line[:1] == b"2":
            rec = by_number[line[91:111]]
            code = codes.get(rec.account_id, "0")
            lines[i] = line[:111] + code.encode() + line[112:]
            if code == "0":
                paid, paid_total = paid + 1, paid_total + rec.amount
            else:
                failed, failed_total = failed + 1, failed_total + rec.amount
    trailer = lines[-2]
    lines[-2] = trailer[:19] + f"{paid:06d}{paid_total:012d}{failed:06d}{failed_total:012d}".encode() + trailer[55:]
    return b"\r\n".join(lines) + b"\r\n"


def test_the_request_is_byte_identical_whatever_order_the_accounts_come_in():
    assert request_file(COLLECTOR, DEBIT_DATE, RECORDS) == request_file(COLLECTOR, DEBIT_DATE, RECORDS[::-1])
    lines = request_file(COLLECTOR, DEBIT_DATE, RECORDS).split(b"\r\n")
    assert lines[0][4:14] == b"1234567890" and lines[0][54:58] == b"1127"
    assert [line[91:111] for line in lines[1:4]] == [customer_number(n).zfill(20).encode() for n in (1, 2, 3)]
    assert lines[1][90:91] == b"1" and lines[2][90:91] == b"0"  # 新規コード while the mandate is pending
    assert lines[4][:19] == b"8000003000000050600"


def test_results_are_read_with_each_code_as_the_design_says():
    body = results_file({"acct-1": "1", "acct-3": "3"})
    outcomes = {r.record.account_id: r.outcome for r in read_results(body, COLLECTOR, DEBIT_DATE, RECORDS)}
    assert outcomes == {"acct-1": Outcome.FAILED, "acct-2": Outcome.PAID, "acct-3": Outcome.MANDATE_REJECTED}


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("0", "paid"),
        ("1", "failed"),
        ("2", "mandate_rejected"),
        ("3", "mandate_rejected"),
        ("4", "mandate_rejected"),
        ("8", "not_debited"),
        ("9", "failed"),
        ("7", "failed"),
    ],
)
def test_every_result_code_has_an_outcome(code, outcome):
    assert Outcome.of(code) == outcome


@pytest.mark.parametrize(
    ("damage", "record", "field"),
    [
        (lambda lines: [lines[0][:4] + b"9999999999" + lines[0][14:], *lines[1:]], 1, "委託者コード"),
        (lambda lines: [lines[0][:54] + b"1130" + lines[0][58:], *lines[1:]], 1, "引落日"),
        (lambda lines: [lines[0], lines[1][:80] + b"0000012101" + lines[1][90:], *lines[2:]], 2, "引落金額"),
        (lambda lines: [lines[0], lines[1][:43] + b"0000099" + lines[1][50:], *lines[2:]], 2, "口座番号"),
        (lambda lines: [lines[0], lines[1], lines[1], *lines[3:]], 3, "顧客番号"),
        (lambda lines: [*lines[:4], lines[4][:1] + b"000002" + lines[4][7:], lines[5]], 5, "合計件数"),
        (lambda lines: [lines[0], *lines[2:]], 4, "合計件数"),
        (lambda lines: [lines[1], lines[0], *lines[2:]], 1, "データ区分"),
    ],
    ids=["consignor", "date", "amount", "account", "used-twice", "trailer-count", "record-missing", "order"],
)
def test_a_file_that_is_not_this_runs_result_is_refused_naming_record_and_field(damage, record, field):
    lines = results_file({}).split(b"\r\n")[:-1]
    with pytest.raises(BankFileError) as fault:
        read_results(b"\r\n".join(damage(lines)), COLLECTOR, DEBIT_DATE, RECORDS)
    assert (fault.value.record, fault.value.field) == (record, field), str(fault.value)


def test_a_trailer_whose_paid_figures_disagree_is_refused():
    body = results_file({"acct-1": "1"}).replace(
        b"000002000000038500000001000000012100", b"000003000000050600000000000000000000"
    )
    with pytest.raises(BankFileError, match="振替済件数"):
        read_results(body, COLLECTOR, DEBIT_DATE, RECORDS)


def test_the_collector_comes_from_the_issuer_file_and_a_bad_one_is_named():
    from billing.invoicing.issuer import IssuerError, parse_collector

    collector = load_collector()
    assert len(collector.consignor_code) == 10 and collector.account_type == "1"
    good = {
        "consignor_code": "1234567890",
        "consignor_name": "ｻﾝﾌﾟﾙ",
        "bank_code": "0001",
        "bank_name": "ｻﾝﾌﾟﾙ",
        "branch_code": "001",
        "branch_name": "ﾎﾝﾃﾝ",
        "account_type": "当座",
        "account_number": "7654321",
    }
    assert parse_collector({"direct_debit": good}).account_type == "2"
    for key, bad in [("consignor_code", "12345"), ("bank_name", "ｱ" * 16), ("consignor_name", "サンプル")]:
        with pytest.raises(IssuerError, match=f"direct_debit.{key}"):
            parse_collector({"direct_debit": {**good, key: bad}})
    with pytest.raises(IssuerError, match="direct_debit is missing"):
        parse_collector({})
