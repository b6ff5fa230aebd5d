"""Announces again what was issued and is still undelivered, so no notice or letter is ever lost.

Triggered by: the EventBridge Scheduler every 15 minutes (input optional: ``DeliverySweepInput``,
``{"grace_seconds": 0}`` sweeps everything undelivered now).
Reads: the DocumentsUndelivered index (only documents whose notice or letter is not recorded yet), the
documents it names, and the DeliverInvoiceDeadLetterQueue, looked at in place.
Writes: nothing in the table (delivery records itself, and takes the document out of the index).
Emits: ``InvoiceIssued`` again for every issued document undelivered for longer than the grace period
(``billing.delivery.redelivery``), and for every dead-lettered delivery not done since; deletes the dead
letters it re-drove or found delivered. Delivery is idempotent, so nothing is sent twice.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from billing.dal.dead_letters import DeadLetterQueue
from billing.dal.invoices import InvoiceStore
from billing.dal.messaging import publish_all
from billing.dal.undelivered import UndeliveredIndex
from billing.delivery.redelivery import GRACE, Redelivery
from billing.observability import follow, logger, tracer
from billing.schema.messages import DeliverySweepInput
from billing.settings import settings


@functools.cache
def redelivery() -> Redelivery:
    table = settings().table_name
    return Redelivery(
        invoices=InvoiceStore(table),
        undelivered=UndeliveredIndex(table),
        dead_letters=DeadLetterQueue(settings().deliver_invoice_dead_letter_queue_url),
        announce_all=lambda detail_type, details: publish_all(settings().event_bus_name, detail_type, details),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    given = DeliverySweepInput.model_validate(event or {})
    grace = GRACE if given.grace_seconds is None else timedelta(seconds=given.grace_seconds)
    run = follow(f"sweep/{context.aws_request_id}")
    swept = redelivery().sweep(datetime.now(UTC), grace, run)
    logger.info("delivery swept", extra=swept)
    return swept
