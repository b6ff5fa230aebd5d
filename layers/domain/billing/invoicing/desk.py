"""The operator's invoice desk (電子帳簿保存法): search issued documents, page them, export them as CSV.

A search names an issue-date range (both ends inclusive, at most 366 days, so
a fiscal year fits even in a leap year) and optionally an amount range (yen,
tax included, inclusive), part of the counterparty's company name as issued,
and whether a late report flagged the invoice for correction. Every
condition given must hold. Results come oldest first: by issue date, then
document number.

A page's ``next_token`` is the position after its last row, bound to the
conditions it came from: base64url (no padding) of a compact JSON object. A
token that does not decode, or that another search gave, is a bad request.

No AWS here: ``billing.dal.invoice_search`` reads the index.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from billing import months, paging
from billing.errors import InvalidRequest
from billing.spreadsheet import csv_cell

MAX_DAYS = 366
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
CSV_MAX_ROWS = 10_000
ROW_FIELDS = (
    "invoice_number",
    "kind",
    "account_id",
    "counterparty",
    "month",
    "issued_on",
    "total",
    "tax",
    "status",
    "replaces",
)
# A document's payment state, read from its item (the search index does not project it); null on a return invoice.
PAYMENT_FIELDS = ("payment_status", "balance")
_POSITION = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})#((INV|CN)-[0-9]{6}-[0-9]{7})\Z")
# A spreadsheet reads a cell starting with one of these as a formula (OWASP CSV injection).


@dataclass(frozen=True)
class DocumentSearch:
    issued_from: date
    issued_to: date
    min_total: int | None = None
    max_total: int | None = None
    counterparty: str | None = None
    correction_suggested: bool | None = None
    payment_status: str | None = None  # unpaid, collecting, partially_paid, paid or debit_failed
    overdue: bool | None = None  # true: a balance past its pay_by (Tokyo's today); false: none

    def __post_init__(self):
        if self.issued_to < self.issued_from:
            raise InvalidRequest(f"issued_to {self.issued_to} is before issued_from {self.issued_from}")
        days = (self.issued_to - self.issued_from).days + 1
        if days > MAX_DAYS:
            raise InvalidRequest(f"the issue-date range spans {days} days; search at most {MAX_DAYS} at a time")
        if self.min_total is not None and self.max_total is not None and self.min_total > self.max_total:
            raise InvalidRequest(f"min_total {self.min_total} is more than max_total {self.max_total}")

    def issue_months(self) -> list[str]:
        """Each Tokyo month the range touches, oldest first."""
        month, last = self.issued_from.strftime("%Y-%m"), self.issued_to.strftime("%Y-%m")
        found = []
        while month <= last:
            found.append(month)
            month = months.next_month(month)
        return found

    def day_range(self, month: str) -> tuple[date, date]:
        """The part of the range that falls in ``month``."""
        first = date.fromisoformat(f"{month}-01")
        last = date.fromisoformat(f"{months.next_month(month)}-01") - timedelta(days=1)
        return max(first, self.issued_from), min(last, self.issued_to)

    def fingerprint(self) -> str:
        """Short and stable: binds a next_token to the conditions that produced it."""
        conditions = [
            self.issued_from.isoformat(),
            self.issued_to.isoformat(),
            self.min_total,
            self.max_total,
            self.counterparty,
            self.correction_suggested,
            self.payment_status,
            self.overdue,
        ]
        encoded = json.dumps(conditions, ensure_ascii=False, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()[:12]


# ---------------------------------------------------------------- order and paging


def position(row: dict) -> str:
    """Where a row sorts: its issue date, then its number (the index's sort key has the same form)."""
    return f"{row['issued_on']}#{row['invoice_number']}"


def merge_oldest_first(shards: Iterable[Iterable[dict]]) -> Iterator[dict]:
    """One ordered stream from shards that are each ordered oldest first (read lazily, one row at a time)."""
    return heapq.merge(*shards, key=position)


def encode_token(search: DocumentSearch, after: str) -> str:
    return paging.encode_token(search.fingerprint(), after)


def decode_token(search: DocumentSearch, token: str) -> str:
    """The position a token continues after; ``InvalidRequest`` for anything this search did not give."""
    return paging.decode_token(search.fingerprint(), token, _POSITION, search.issued_from, search.issued_to)


# ---------------------------------------------------------------- rows and CSV


def row(record: dict) -> dict:
    """A document as the list shows it (its payment state from its item: ``billing.dal.invoice_search``)."""
    return {field: record.get(field) for field in (*ROW_FIELDS, *PAYMENT_FIELDS)}


def render_csv(rows: Iterable[dict]) -> str:
    """UTF-8 with BOM (Excel opens Japanese text correctly), one header row, CRLF line ends."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((*ROW_FIELDS, *PAYMENT_FIELDS))
    for record in rows:
        writer.writerow([csv_cell(record.get(field)) for field in (*ROW_FIELDS, *PAYMENT_FIELDS)])
    return out.getvalue()


def history_order(records: Iterable[dict]) -> list[dict]:
    """A month's chain of documents, oldest first."""
    return sorted(records, key=position)
