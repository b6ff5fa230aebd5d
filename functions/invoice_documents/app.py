"""Corrections and return invoices for billing operators (HttpApi, AWS_IAM, the operator principal).

Triggered by:
- POST /v1/invoices/{invoice_number}/corrections: a corrected invoice (修正した適格請求書) with the next number of
  the month's series, built from the month's usage including its late reports and the month's terms with the
  request's ``changes`` laid over them; the original becomes ``replaced``;
- POST /v1/invoices/{invoice_number}/credit-notes: a return invoice (適格返還請求書) in the month's CN series.
Returns belong to the month's chain of documents: a correction bills at least what they gave back (409
``credit_exceeds_invoice`` otherwise), and a return gives back at most the latest document's total less them.
An ``Idempotency-Key`` header makes a retried request answer the document it made; without one, an identical
request is taken for a retry of the first.
Reads: the original, the account's terms and the month's usage in the BillingTable; the tariff and issuer.
Writes: the counter, the document, the original, the request record and the month's chain (what its returns
gave back) in one transaction; then the PDF to the
InvoiceBucket under Object Lock and the document's issued state.
Emits: ``InvoiceIssued`` with the document's ``kind``; delivery sends it through the account's channel.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from billing import months
from billing.dal import stores
from billing.dal.close_runs import month_closer
from billing.dal.documents import DocumentRequest
from billing.errors import CreditExceedsInvoice, InvalidRequest, InvoiceReplaced, NotFound
from billing.http import create_resolver, documented, json_response
from billing.invoicing.close_run import MonthCloser
from billing.invoicing.invoice import Invoice, build_invoice
from billing.invoicing.returns import Returned, check_correctable, check_covers_returns, return_invoice
from billing.observability import logger, tracer
from billing.schema.documents import CorrectionIn, CreditNoteIn, DocumentOut
from billing.schema.params import DocumentNumberPath
from billing.vocabulary import DocumentKind
from invoice_pdf.render import render_invoice_pdf

app = create_resolver()
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as Stripe's keys are


def now() -> datetime:
    """The clock; tests move it."""
    return datetime.now(UTC)


@functools.cache
def closer() -> MonthCloser:
    return month_closer(render_invoice_pdf)


def original_of(number: str) -> tuple[dict, Invoice]:
    record = closer().stores.invoices.find(number)
    if record is None:
        raise NotFound(f"no invoice {number}")
    invoice = Invoice.from_record(record)
    check_correctable(invoice, record["status"])
    return record, invoice


def request_of(kind: DocumentKind, number: str, body: dict) -> DocumentRequest:
    key = app.current_event.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidRequest("Idempotency-Key must be 1-255 visible ASCII characters")
    return DocumentRequest(kind, number, body, key)


def answer(record: dict) -> object:
    # render, archive, announce: once, and resumed by a retried request; InvoiceIssued carries this request's id
    record = closer().finish(record, correlation_id=logger.get_correlation_id())
    document = Invoice.from_record(record)
    body = {
        "invoice_number": document.invoice_number,
        "kind": document.kind,
        "replaces": document.replaces,
        "issued_on": document.issued_on.isoformat(),
        "total": document.total,
        "tax": document.tax,
        "reason": document.reason,
        "lines": [{"description": line.description, "amount": line.amount} for line in document.lines],
    }
    return json_response(201, body)


@app.post(
    "/v1/invoices/<invoice_number>/corrections",
    summary="Correct an issued invoice: a new invoice with the next number that names the original (operator)",
    responses=documented(
        DocumentOut, InvoiceReplaced, CreditExceedsInvoice, status=201, description="the corrected invoice"
    ),
)
def correct(invoice_number: DocumentNumberPath, body: Annotated[CorrectionIn, Body()]):
    request = request_of(DocumentKind.CORRECTION, invoice_number, body.model_dump(mode="json"))
    return answer(correction(request, body))


def correction(request: DocumentRequest, body: CorrectionIn) -> dict:
    """The stored correction ``request`` asks for: made now, or found made by an earlier try."""
    if done := stores.documents().done(request):
        return done
    record, original = original_of(request.original)
    closing, tariff = closer().stores, closer().tariff
    month, today = original.month, months.day_of(now())
    contract = closing.accounts.get(original.account_id)
    terms = contract.billed_terms(month)
    if body.changes is not None:
        terms = body.changes.as_changes().apply_to(terms)
        tariff.check_terms(month, terms.plan, terms.options)
    usage = closing.usage.month_usage(original.account_id, month).with_late_reports()

    def build(number: str, returned: Returned) -> Invoice:
        corrected = build_invoice(
            number,
            terms,
            usage,
            tariff,
            closer().issuer,
            replaces=original,
            issued_on=today,
            reason=body.reason,
            customer_number=contract.customer_number,
        )
        check_covers_returns(corrected, returned)  # what the month's returns gave back stays given back
        return corrected

    stored = stores.documents().add(request, record, build)
    logger.info("invoice corrected", extra={"original": request.original, "correction": stored["invoice_number"]})
    return stored


@app.post(
    "/v1/invoices/<invoice_number>/credit-notes",
    summary="A return invoice (適格返還請求書) against an issued invoice, in the month's CN series (operator)",
    responses=documented(
        DocumentOut, InvoiceReplaced, CreditExceedsInvoice, status=201, description="the return invoice"
    ),
)
def credit(invoice_number: DocumentNumberPath, body: Annotated[CreditNoteIn, Body()]):
    request = request_of(DocumentKind.CREDIT_NOTE, invoice_number, body.model_dump(mode="json"))
    return answer(credit_note(request, body))


def credit_note(request: DocumentRequest, body: CreditNoteIn) -> dict:
    """The stored return invoice ``request`` asks for: made now, or found made by an earlier try."""
    if done := stores.documents().done(request):
        return done
    record, latest = original_of(request.original)
    today = months.day_of(now())

    def build(number: str, returned: Returned) -> Invoice:
        return return_invoice(latest, number, today, body.amount, body.reason, returned=returned)

    stored = stores.documents().add(request, record, build)
    logger.info("return invoice issued", extra={"original": request.original, "credit_note": stored["invoice_number"]})
    return stored


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
