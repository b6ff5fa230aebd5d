"""Announces again what was issued and is still undelivered, and finishes what a request left half done, so no
document, notice or letter is ever lost.

Triggered by: the EventBridge Scheduler every 15 minutes (input optional: ``DeliverySweepInput``,
``{"grace_seconds": 0}`` sweeps everything undelivered now).
Reads: the DocumentsUndelivered index (only documents whose notice or letter is not recorded yet), the
documents it names, and the DeliverInvoiceDeadLetterQueue, looked at in place.
Writes: a correction or return invoice its request left ``numbered`` (its transaction done, then a crash) is
finished as the request would have: its PDF and e-invoice archived to the InvoiceBucket where absent, the
document marked issued, then announced (``MonthCloser.finish``). Nothing else in the table: delivery records
itself, and takes the document out of the index.
Emits: ``InvoiceIssued`` again for every issued document undelivered for longer than the grace period
(``billing.delivery.redelivery``), for every document it finishes, and for every dead-lettered delivery not
done since; deletes the dead letters it re-drove or found delivered. Delivery is idempotent, so nothing is
sent twice.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from billing.dal.close_runs import month_closer
from billing.dal.redelivery import redelivery as wired
from billing.delivery.redelivery import GRACE, Redelivery
from billing.observability import follow, logger, tracer
from billing.schema.messages import DeliverySweepInput
from invoice_pdf.render import render_invoice_pdf


@functools.cache
def redelivery() -> Redelivery:
    return wired(month_closer(render_invoice_pdf))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    given = DeliverySweepInput.model_validate(event or {})
    grace = GRACE if given.grace_seconds is None else timedelta(seconds=given.grace_seconds)
    run = follow(f"sweep/{context.aws_request_id}")
    swept = redelivery().sweep(datetime.now(UTC), grace, run)
    logger.info("delivery swept", extra=swept)
    return swept
