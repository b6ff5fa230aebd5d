"""The invoice desk's parameters and answers (operators; 電子帳簿保存法).

The query parameters are typed here, once: a route receives each as the value it stands for (a ``date``, an
``int``, a ``bool``), and a value that is not one is the route's 400 before it runs. Each is published as the
string a query string carries, with the pattern it must match (docs/openapi.json).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import AfterValidator, StringConstraints

from billing import months
from billing.invoicing.desk import DEFAULT_LIMIT, MAX_LIMIT
from billing.schema.fields import DATE_PATTERN, Document

DOCUMENT_NUMBER_PATTERN = r"^(INV|CN)-[0-9]{6}-[0-9]{7}$"
_YEN_PATTERN = r"^[0-9]{1,12}$"  # ASCII digits only: no sign, no exponent, no fullwidth digits


def _issue_day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a calendar date") from None
    if not months.FIRST_YEAR <= day.year <= months.LAST_YEAR:
        raise ValueError(f"must fall between {months.FIRST_YEAR} and {months.LAST_YEAR}")
    return day


def _rows_per_page(value: str) -> int:
    rows = int(value)
    if not 1 <= rows <= MAX_LIMIT:
        raise ValueError(f"must be 1-{MAX_LIMIT}")
    return rows


# Each checked as the string it arrives as (the pattern, published), then turned into what it stands for.
IssueDay = Annotated[str, StringConstraints(pattern=DATE_PATTERN), AfterValidator(_issue_day)]
Yen = Annotated[str, StringConstraints(pattern=_YEN_PATTERN), AfterValidator(int)]
RowsPerPage = Annotated[
    str,  # ASCII digits only: as an int, the query would also take 1.0, +5, ５ and 1_0
    StringConstraints(pattern=r"^[0-9]{1,3}$"),
    AfterValidator(_rows_per_page),
]
Flag = Annotated[Literal["true", "false"], AfterValidator(lambda value: value == "true")]

DocumentNumberPath = Annotated[
    str,
    Path(
        pattern=DOCUMENT_NUMBER_PATTERN,
        description="INV-YYYYMM-NNNNNNN (invoice or correction) or CN-YYYYMM-NNNNNNN (return invoice)",
    ),
]
IssuedFromQuery = Annotated[IssueDay, Query(description="YYYY-MM-DD, first issue date (inclusive); required")]
IssuedToQuery = Annotated[
    IssueDay,
    Query(description="YYYY-MM-DD, last issue date (inclusive); required; at most 366 days after issued_from"),
]
MinTotalQuery = Annotated[Yen | None, Query(description="yen, tax included, inclusive (a non-negative integer)")]
MaxTotalQuery = Annotated[Yen | None, Query(description="yen, tax included, inclusive (a non-negative integer)")]
CounterpartyQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f-\x9f]+$",
        description="part of the recipient's company name as issued (case-sensitive)",
    ),
]
CorrectionSuggestedQuery = Annotated[
    Flag | None,
    Query(description="true: only invoices a late report flagged for correction; false: only those not flagged"),
]
PaymentStatus = Literal["unpaid", "collecting", "partially_paid", "paid", "debit_failed"]
PaymentStatusQuery = Annotated[
    PaymentStatus | None,
    Query(description="only invoices and corrections in this payment state (a return invoice has none)"),
]
OverdueQuery = Annotated[
    Flag | None,
    Query(description="true: only documents with a balance past their pay_by (Tokyo's today); false: all others"),
]
LimitQuery = Annotated[
    RowsPerPage,
    Query(
        description=f"rows per page, 1-{MAX_LIMIT} (JSON only)",
        # Powertools hands a missing parameter its default as it is, unvalidated: the factory gives the route
        # the number, and the document shows the default as the string a query string would carry.
        default_factory=lambda: DEFAULT_LIMIT,
        json_schema_extra={"default": str(DEFAULT_LIMIT)},
    ),
]
NextTokenQuery = Annotated[
    str | None,
    Query(max_length=400, description="the next_token of the previous page, with the same conditions (JSON only)"),
]
FormatQuery = Annotated[
    Literal["json", "csv"],
    Query(description="csv: every matching document (up to 10,000) as one CSV file, UTF-8 with BOM"),
]


class InvoiceRowOut(Document):
    """One document as the list shows it."""

    invoice_number: str
    kind: Literal["invoice", "correction", "credit_note"]
    account_id: str
    counterparty: str | None  # the recipient's company name as issued
    month: str  # the billing month (取引期間)
    issued_on: str
    total: int  # yen, tax included
    tax: int
    status: str  # numbered (PDF not archived yet), issued, or replaced by a correction
    replaces: str | None
    # an invoice's or correction's payment state (null on a return invoice, or one issued before the ledger)
    payment_status: PaymentStatus | None = None
    balance: int | None = None


class InvoicesOut(Document):
    invoices: list[InvoiceRowOut]
    next_token: str | None


class PaymentOut(Document):
    payment_id: str
    received_on: str
    amount: int
    method: Literal["direct_debit", "bank_transfer", "credit_balance"]


class ReminderOut(Document):
    level: Literal[1, 2, 3]
    sent_on: str
    channel: Literal["email", "letter"]


class InvoiceDetailOut(InvoiceRowOut):
    """The whole document as issued, a short-lived link to its PDF, and its account's chain for the month.

    An invoice or correction adds its payment state (a return invoice, and a document issued before the payment
    ledger, have none: those fields are null)."""

    amount_due: int | None = None
    paid_amount: int | None = None
    pay_by: str | None = None
    overdue: bool | None = None
    payments: list[PaymentOut] | None = None
    reminders: list[ReminderOut] | None = None

    period_start: str
    period_end: str
    subtotal: int
    currency: str
    lines: list[dict]
    tax_summary: list[dict]  # totals and tax per rate
    tax_rounding: str
    recipient: dict  # the recipient as it stood at issue, with its 宛名 line
    issuer: dict
    usage: dict
    plan: str
    tariff_version: str
    payment_method: str
    delivery_method: str
    due_on: str | None
    debit_on: str | None
    final: bool
    reason: str | None
    replaces_issued_on: str | None
    correction_suggested: bool
    pdf_key: str | None
    pdf_sha256: str | None
    pdf_url: str | None  # presigned, valid 300 seconds; null until the PDF is archived
    pdf_size: int | None = None  # bytes; null until the PDF is archived
    einvoice_key: str | None = None  # the JP PINT XML beside the PDF, under the same Object Lock
    einvoice_sha256: str | None = None
    # Delivery, as far as it has got: null until the delivery path records it.
    delivery_status: str | None = None  # web: notified; postal: batched, then posted
    available_on: str | None = None  # the day the statement shows it
    notified_at: str | None = None  # when the web notice went out
    notification_id: str | None = None  # the notice's message id at SES
    posting_on: str | None = None  # postal: the day the letter is posted
    estimated_arrival: str | None = None  # postal: the day it should arrive
    history: list[InvoiceRowOut]  # the account's invoice, corrections and return invoices of the month, oldest first
