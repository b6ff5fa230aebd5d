"""The receivables ageing: each balance in the column of its days past pay_by, a row per account that owes or
holds credit, and totals; the CSV neutralised."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from billing.payments.ledger import Receivable
from billing.payments.receivables import AccountOwing, ageing, column_of, render_csv

AS_OF = date(2026, 12, 31)


def doc(number: int, days_past: int, due: int, paid: int = 0) -> Receivable:
    return Receivable(f"INV-202610-{number:07d}", due, AS_OF - timedelta(days=days_past), paid)


@pytest.mark.parametrize(
    ("days", "column"),
    [(-5, "not_due"), (0, "not_due"), (1, "days_1_30"), (30, "days_1_30"), (31, "days_31_60"), (60, "days_31_60"),
     (61, "days_61_90"), (90, "days_61_90"), (91, "days_over_90")],
)  # fmt: skip
def test_each_balance_goes_in_the_column_of_its_days_past_pay_by(days, column):
    assert column_of(days) == column


def test_one_row_per_account_that_owes_or_holds_credit_with_totals():
    report = ageing(
        [
            AccountOwing("b-co", "ビー株式会社", 0, (doc(1, -3, 7_700), doc(2, 45, 11_000, paid=1_000))),
            AccountOwing("a-co", "=cmd()", 500, (doc(3, 100, 4_400),)),
            AccountOwing("paid-co", "済", 0, (doc(4, 10, 7_700, paid=7_700),)),  # nothing owed, no credit: no row
            AccountOwing("credit-co", "前払", 1_200, ()),  # credit alone: a row
        ],
        AS_OF,
    )
    assert [r["account_id"] for r in report["accounts"]] == ["a-co", "b-co", "credit-co"]
    b = report["accounts"][1]
    assert (b["not_due"], b["days_31_60"], b["total"], b["credit_balance"]) == (7_700, 10_000, 17_700, 0)
    assert report["totals"] == {
        "not_due": 7_700, "days_1_30": 0, "days_31_60": 10_000, "days_61_90": 0, "days_over_90": 4_400,
        "credit_balance": 1_700, "total": 22_100,
    }  # fmt: skip
    text = render_csv(report)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["account_id", "counterparty", "not_due"] and rows[-1][0] == "合計"
    assert rows[1][1] == "'=cmd()"  # a spreadsheet never runs a counterparty's name
