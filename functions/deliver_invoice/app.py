"""Delivers an issued invoice the way its account's snapshot says.

Triggered by: the ``InvoiceIssued`` EventBridge rule (retried, then its DLQ).
Reads: nothing: the event carries the invoice's snapshot of delivery and payment method and what the notice
says (an event from before it carried the notice: the invoice record).
Writes: the delivery plan on the invoice (status, available/posting/arrival
dates); for postal invoices a letter for the print run.
Emits: for web statements, one notification email (SES) linking to the
statements page, never the PDF. A redelivered event sends nothing twice.
Its log lines, and a postal invoice's letter, carry the event's correlation id.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.utilities.parser import event_parser

from billing.dal import stores
from billing.dal.mail import send_email
from billing.delivery.deliverer import Deliverer
from billing.observability import follow, logger, tracer
from billing.schema.envelopes import InvoiceIssuedEvent
from billing.settings import settings


@functools.cache
def deliverer() -> Deliverer:
    return Deliverer(
        invoices=stores.invoices(),
        deliveries=stores.deliveries(),
        send_email=lambda email, notice_id: send_email(settings().notification_sender, email, notice_id),
        statements_url=settings().statements_url,
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_parser(model=InvoiceIssuedEvent)
def lambda_handler(event: InvoiceIssuedEvent, context):
    detail = event.detail
    run = follow(
        detail.correlation_id or event.id,
        account_id=detail.account_id,
        month=detail.month,
        invoice_number=detail.invoice_number,
    )
    channel = deliverer().deliver_issued(detail.as_issued(), correlation_id=run)
    logger.info("document delivered", extra={"channel": channel})
    return {"account_id": detail.account_id, "month": detail.month, "channel": channel}
