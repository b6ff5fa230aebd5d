"""The receivables ageing (売掛金年齢表), in plain Python: what each account owes, by days past ``pay_by``.

One row per account with a balance or a credit balance. Each document's balance goes in the column of its days
past ``pay_by``, counted to ``as_of``: not yet due, 1–30, 31–60, 61–90, over 90. ``total`` is the sum of the
balances (credit is money held, shown beside them, not netted). The totals row sums every column. The CSV is
UTF-8 with a BOM, its cells neutralised as the invoice desk's are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from billing.payments.ledger import Receivable
from billing.spreadsheet import csv_cell

COLUMNS = ("not_due", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
CSV_COLUMNS = ("account_id", "counterparty", *COLUMNS, "credit_balance", "total")


def column_of(days_past: int) -> str:
    """The ageing column of a balance ``days_past`` its ``pay_by`` (0 or less: not yet due)."""
    if days_past <= 0:
        return "not_due"
    if days_past <= 30:
        return "days_1_30"
    if days_past <= 60:
        return "days_31_60"
    if days_past <= 90:
        return "days_61_90"
    return "days_over_90"


@dataclass(frozen=True)
class AccountOwing:
    """What the ageing needs of one account: its name, its credit, its documents' payment states."""

    account_id: str
    counterparty: str
    credit_balance: int
    documents: tuple[Receivable, ...]


def row_of(account: AccountOwing, as_of: date) -> dict | None:
    """The account's row, or None when it owes nothing and holds no credit."""
    row = {"account_id": account.account_id, "counterparty": account.counterparty, **dict.fromkeys(COLUMNS, 0)}
    for document in account.documents:
        if document.balance > 0:
            row[column_of((as_of - document.pay_by).days)] += document.balance
    total = sum(row[column] for column in COLUMNS)
    if not total and not account.credit_balance:
        return None
    return {**row, "credit_balance": account.credit_balance, "total": total}


def ageing(accounts: Iterable[AccountOwing], as_of: date) -> dict:
    """``{"as_of", "accounts": [...], "totals": {...}}``: the rows by account id, and every column summed."""
    rows = sorted((r for a in accounts if (r := row_of(a, as_of)) is not None), key=lambda r: r["account_id"])
    totals = {column: sum(r[column] for r in rows) for column in (*COLUMNS, "credit_balance", "total")}
    return {"as_of": as_of.isoformat(), "accounts": rows, "totals": totals}


def render_csv(report: dict) -> str:
    """The ageing as CSV: a header, one row per account, a totals row; UTF-8 with BOM, CRLF, neutralised cells."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["accounts"]:
        writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
    totals = report["totals"]
    writer.writerow(["合計", "", *(totals[column] for column in (*COLUMNS, "credit_balance", "total"))])
    return out.getvalue()
