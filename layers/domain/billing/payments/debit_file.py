"""A debit run's request file (口座振替依頼データ) and the bank's result file, as the Zengin 91 layout has them.

The request holds one data record per account, in customer-number order, so the same run always gives the
same bytes. The bank returns the same records with each 振替結果コード filled in; ``read_results`` checks the
whole file against the run before anything may change, and names the record and field of the first fault.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing.contracts.payment_details import DebitAccount
from billing.invoicing.issuer import Collector
from billing.zengin.layouts import DIRECT_DEBIT
from billing.zengin.records import BankFileError


@dataclass(frozen=True)
class DebitRecord:
    """One account's debit: the sum of its documents due on the date, less its credit."""

    account_id: str
    customer_number: str
    account: DebitAccount
    amount: int
    first_debit: bool  # the mandate is still pending: 新規コード 1
    documents: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """What a result record must repeat to be this record's."""
        a = self.account
        return (self.customer_number.zfill(20), a.bank_code, a.branch_code, a.account_number, self.amount)


class Outcome(StrEnum):
    PAID = "paid"  # 0 振替済
    FAILED = "failed"  # 1 資金不足, 9 その他 and any other code: the customer is asked to transfer
    MANDATE_REJECTED = "mandate_rejected"  # 2 取引なし, 3 預金者都合, 4 依頼書なし: as failed, and the mandate ends
    NOT_DEBITED = "not_debited"  # 8 委託者都合: the issuer withdrew it; back to unpaid, no notice

    @classmethod
    def of(cls, code: str) -> Outcome:
        return {"0": cls.PAID, "2": cls.MANDATE_REJECTED, "3": cls.MANDATE_REJECTED, "4": cls.MANDATE_REJECTED}.get(
            code, cls.NOT_DEBITED if code == "8" else cls.FAILED
        )


@dataclass(frozen=True)
class DebitResult:
    record: DebitRecord
    code: str

    @property
    def outcome(self) -> Outcome:
        return Outcome.of(self.code)


def request_file(collector: Collector, debit_date: date, records: list[DebitRecord]) -> bytes:
    """The 口座振替依頼データ for ``records``: header, one data record each, trailer and end."""
    ordered = sorted(records, key=lambda r: r.customer_number)
    rows = [("1", {**_header(collector), "debit_date": debit_date.strftime("%m%d")})]
    rows += [("2", _data(record, result_code="0")) for record in ordered]
    rows += [("8", {"count": len(ordered), "total": sum(r.amount for r in ordered)}), ("9", {})]
    return DIRECT_DEBIT.write(rows)


def read_results(body: bytes, collector: Collector, debit_date: date, records: list[DebitRecord]) -> list[DebitResult]:
    """Every result of the bank's file, checked whole against the run; ``BankFileError`` for the first fault."""
    rows = DIRECT_DEBIT.read_file(body)
    header = rows[0][1]
    if header["consignor_code"] != collector.consignor_code:
        raise BankFileError(
            1, "委託者コード", f"is {header['consignor_code']}; the run's is {collector.consignor_code}"
        )
    if header["debit_date"] != debit_date.strftime("%m%d"):
        raise BankFileError(1, "引落日", f"is {header['debit_date']}; the run debits on {debit_date:%m%d}")
    waiting = {record.key: record for record in records}
    results = []
    for number, (kind, values) in enumerate(rows, start=1):
        if kind != "2":
            continue
        key = (values["customer_number"], values["bank_code"], values["branch_code"], values["account_number"])
        key = (*key, int(values["amount"]))
        if key not in waiting:
            raise BankFileError(
                number, _first_difference(values, records), "matches no record of the run, or one used twice"
            )
        results.append(DebitResult(waiting.pop(key), values["result_code"]))
    trailer_number = len(rows) - 1
    _check_trailer(rows[-2][1], results, trailer_number)
    if waiting:
        raise BankFileError(trailer_number, "合計件数", f"the run has {len(records)} records; the file {len(results)}")
    return results


def _header(collector: Collector) -> dict:
    return {
        "consignor_code": collector.consignor_code,
        "consignor_name": collector.consignor_name,
        "bank_code": collector.bank_code,
        "bank_name": collector.bank_name,
        "branch_code": collector.branch_code,
        "branch_name": collector.branch_name,
        "account_type": collector.account_type,
        "account_number": collector.account_number,
    }


def _data(record: DebitRecord, result_code: str) -> dict:
    a = record.account
    return {
        "bank_code": a.bank_code,
        "branch_code": a.branch_code,
        "account_type": a.account_type.zengin_code,
        "account_number": a.account_number,
        "holder": a.holder_kana,
        "amount": record.amount,
        "new_code": "1" if record.first_debit else "0",
        "customer_number": record.customer_number,
        "result_code": result_code,
    }


def _check_trailer(trailer: dict, results: list[DebitResult], number: int) -> None:
    paid = [r for r in results if r.code == "0"]
    failed = [r for r in results if r.code != "0"]
    figures = {
        "合計件数": (trailer["count"], len(results)),
        "合計金額": (trailer["total"], sum(r.record.amount for r in results)),
        "振替済件数": (trailer["paid_count"], len(paid)),
        "振替済金額": (trailer["paid_total"], sum(r.record.amount for r in paid)),
        "振替不能件数": (trailer["failed_count"], len(failed)),
        "振替不能金額": (trailer["failed_total"], sum(r.record.amount for r in failed)),
    }
    for label, (written, counted) in figures.items():
        if int(written) != counted:
            raise BankFileError(number, label, f"says {int(written)}; the records add up to {counted}")


def _first_difference(values: dict, records: list[DebitRecord]) -> str:
    """The field that makes a data record no record of the run: the first that no unused record has."""
    by_customer = Counter(r.customer_number.zfill(20) for r in records)
    if values["customer_number"] not in by_customer:
        return "顧客番号"
    record = next(r for r in records if r.customer_number.zfill(20) == values["customer_number"])
    for label, name, expected in (
        ("引落銀行番号", "bank_code", record.account.bank_code),
        ("引落支店番号", "branch_code", record.account.branch_code),
        ("口座番号", "account_number", record.account.account_number),
        ("引落金額", "amount", f"{record.amount:010d}"),
    ):
        if values[name] != expected:
            return label
    return "顧客番号"  # every field agrees: the record is there twice
