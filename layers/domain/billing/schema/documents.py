"""The operator's corrections and return invoices: request and response bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from billing.schema.fields import Document, Payload, text
from billing.schema.platform import ChangesIn
from billing.vocabulary import DocumentKind

MAX_RETURN = 1_000_000_000  # yen; far beyond any invoice, so only credit_exceeds_invoice decides

Reason = text(200, "why, as the operator gives it; printed on the document")


class CorrectionIn(Payload):
    """``POST /v1/invoices/{invoice_number}/corrections``."""

    reason: Reason
    changes: Annotated[
        ChangesIn | None,
        Field(description="terms laid over the month's, for this month only (a change request's shape)"),
    ] = None


class CreditNoteIn(Payload):
    """``POST /v1/invoices/{invoice_number}/credit-notes``."""

    reason: Reason
    amount: Annotated[int, Field(gt=0, le=MAX_RETURN, description="yen returned, tax included")]


class DocumentLineOut(Document):
    description: str
    amount: int  # yen, tax excluded


class DocumentOut(Document):
    invoice_number: str
    kind: DocumentKind
    replaces: str
    issued_on: str
    total: int  # a return invoice's amounts are positive yen returned
    tax: int
    reason: str
    lines: list[DocumentLineOut]
