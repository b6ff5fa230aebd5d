"""Applies an account's credit balance when one of its documents is issued.

Triggered by: the ``InvoiceIssued`` EventBridge rule (retried, then its DLQ), beside delivery.
Reads: the account's profile (its credit balance) and its open documents.
Writes: in one transaction, the credit taken from the balance (on condition it still holds it) and applied to the
open documents, oldest ``pay_by`` first; documents a debit run is collecting are left to the run.
Emits: ``InvoicePaid`` for each document the credit paid off. A redelivered event finds no credit left.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import event_parser

from billing.dal import stores
from billing.debit_wiring import announce_paid, tokyo_today
from billing.observability import logger, tracer
from billing.schema.envelopes import InvoiceIssuedEvent
from billing.vocabulary import DocumentKind


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_parser(model=InvoiceIssuedEvent)
def lambda_handler(event: InvoiceIssuedEvent, context):
    detail = event.detail
    if detail.kind == DocumentKind.CREDIT_NOTE:
        return {"applied": 0}  # a return invoice has no payment state; what it frees is credited as it is issued
    today = tokyo_today()
    applied = stores.ledger().apply_credit(detail.account_id, detail.invoice_number, today)
    if applied is None:
        return {"applied": 0}
    if applied.settled:
        announce_paid(detail.account_id, list(applied.settled), today, "credit_balance")
    amount = sum(a.amount for a in applied.allocations)
    logger.info("credit applied", extra={"account_id": detail.account_id, "amount": amount})
    return {"applied": amount}
