"""What invoicing announces on its bus: ``InvoiceIssued``, for delivery and for anyone listening.

Plain data: the domain builds and reads it, and the edge declares the same
fields once more as the published message
(``billing.schema.messages.InvoiceIssuedDetail``), which parses an event
before delivery sees it (``InvoiceIssuedDetail.as_issued``). The two are
checked to agree field for field and byte for byte
(``tests/unit/test_announcements.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING

from billing.vocabulary import DeliveryMethod, DocumentKind, PaymentMethod

if TYPE_CHECKING:  # the message schema imports this module: it loads no invoice model
    from billing.invoicing.invoice import Invoice


@dataclass(frozen=True)
class InvoiceIssued:
    """One issued document, as its ``InvoiceIssued`` event carries it."""

    invoice_number: str
    account_id: str
    month: str
    issued_on: date
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    due_on: date | None
    debit_on: date | None
    total: int
    tax: int
    pdf_key: str
    pdf_sha256: str
    kind: DocumentKind = DocumentKind.INVOICE  # an invoice, a correction or a return invoice
    replaces: str | None = None  # the document a correction replaces, or a return invoice returns against
    correlation_id: str | None = None  # the close run or request that issued it
    # What the web notice says beyond the above, as issued, so delivery reads nothing (None on events from
    # before they carried it: delivery then reads the record).
    recipient_line: str | None = None  # 宛名
    email: str | None = None  # the billing contact's address, as it stood at issue
    issuer_name: str | None = None

    @classmethod
    def of(cls, invoice: Invoice, record: dict, correlation_id: str | None = None) -> InvoiceIssued:
        """The announcement of ``invoice``, stored as ``record`` (its dates and archived PDF)."""
        return cls(
            invoice_number=invoice.invoice_number,
            account_id=invoice.account_id,
            month=invoice.month,
            issued_on=invoice.issued_on,
            payment_method=PaymentMethod(invoice.payment_method),
            delivery_method=DeliveryMethod(invoice.delivery_method),
            due_on=_day(record.get("due_on")),
            debit_on=_day(record.get("debit_on")),
            total=invoice.total,
            tax=invoice.tax,
            kind=DocumentKind(invoice.kind),
            replaces=invoice.replaces,
            pdf_key=record["pdf_key"],
            pdf_sha256=record["pdf_sha256"],
            correlation_id=correlation_id,
            recipient_line=invoice.recipient_line,
            email=invoice.recipient.email,
            issuer_name=invoice.issuer.name,
        )

    def body(self) -> dict:
        """The event's detail as JSON: dates as YYYY-MM-DD, the methods and the kind as their values."""
        return {field.name: _json(getattr(self, field.name)) for field in fields(self)}


def issued_event(invoice: Invoice, record: dict, correlation_id: str | None = None) -> dict:
    """The ``InvoiceIssued`` detail of ``invoice``, stored as ``record``."""
    return InvoiceIssued.of(invoice, record, correlation_id).body()


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _json(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value
