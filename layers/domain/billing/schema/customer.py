"""The customer API's payloads: statements as the customer sees them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from billing.schema.fields import Document
from billing.schema.platform import BracketOut, DailyHigh, EstimateOut
from billing.vocabulary import DeliveryMethod, DeliveryStatus, PaymentMethod


class StatementOut(Document):
    """One month's statement; ``due_on`` (振込期限) for a transfer or ``debit_on`` (口座振替日) for a debit."""

    month: str
    invoice_number: str
    total: int
    tax: int
    currency: str
    issued_on: str
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    available_on: str
    status: DeliveryStatus
    final: bool  # 最終請求: the contract's last month
    replaces: str | None
    due_on: str | None = None
    debit_on: str | None = None
    posting_on: str | None = None
    estimated_arrival: str | None = None
    payment_status: Annotated[
        Literal["unpaid", "collecting", "partially_paid", "paid", "debit_failed"] | None,
        Field(description="what is owed on it"),
    ] = None
    overdue: Annotated[bool | None, Field(description="a balance is left and pay_by has passed (Tokyo)")] = None
    payment_label: Annotated[
        str | None, Field(description="the same in Japanese: 未入金, 一部入金, 入金済, お支払期限超過 or 口座振替不能")
    ] = None
    balance: Annotated[int | None, Field(description="yen still owed")] = None
    pay_by: Annotated[str | None, Field(description="the transfer deadline or the debit date")] = None


class StatementsOut(Document):
    statements: list[StatementOut]


class StatementLine(Document):
    description: str
    amount: int


class StatementBracket(Document):
    number: int
    low: int
    high: int


class StatementUsage(Document):
    peak: int
    peak_observed_at: str | None
    opening_count: int
    daily: list[DailyHigh]
    bracket: StatementBracket


class HistoryEntry(Document):
    """One invoice of the month: the original and each correction, oldest first."""

    invoice_number: str
    issued_on: str
    status: str  # issued, or replaced by a later correction


class CreditNoteEntry(Document):
    """A return invoice (適格返還請求書) against the month's invoice; amounts as positive yen returned."""

    invoice_number: str
    issued_on: str
    total: int
    tax: int
    reason: str | None


class StatementDetailOut(StatementOut):
    lines: list[StatementLine]
    usage: StatementUsage
    history: list[HistoryEntry]
    credit_notes: list[CreditNoteEntry]


class CurrentUsageOut(Document):
    """The current Tokyo month so far: the peak (the opening count, standing from 00:00 on the 1st, until a report
    beats it), when it was observed (``null`` while nothing was ever counted), its tariff bracket, what the month
    would be billed if it closed now (tax as on the invoice) and the daily highs, oldest first."""

    month: str
    peak: int
    peak_observed_at: str | None
    bracket: BracketOut
    estimate: EstimateOut
    daily: list[DailyHigh]
