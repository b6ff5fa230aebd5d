"""Makes the day's print batch for postal invoices.

Triggered by: the EventBridge Scheduler at 15:00 Asia/Tokyo on weekdays
(holidays are skipped here, by the bank calendar). Input optional:
``{"date": "2026-11-02"}`` re-makes that day's batch (the same batch).
Reads: letters waiting up to that posting date and their invoices.
Writes: ``print-batches/<date>/letters.pdf`` (each invoice on its own sheet,
with the window-envelope address) and ``manifest.csv`` for the mail house to
the InvoiceBucket, and each invoice's posting date, arrival estimate and
``posted`` status.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from datetime import date, datetime

from billing import months
from billing.dal.archive import InvoiceArchive
from billing.dal.deliveries import DeliveryStore
from billing.dal.invoices import InvoiceStore
from billing.delivery.deliverer import PrintRoom
from billing.observability import logger, tracer
from billing.schema.messages import PrintRunInput
from billing.settings import settings
from invoice_pdf.render import render_statement_sheets


@functools.cache
def print_room() -> PrintRoom:
    table = settings().table_name
    return PrintRoom(
        invoices=InvoiceStore(table),
        deliveries=DeliveryStore(table),
        archive=InvoiceArchive(settings().invoice_bucket),
        render=render_statement_sheets,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    requested = PrintRunInput.model_validate(event or {}).date
    day: date = requested or datetime.now(months.TOKYO).date()
    batch = print_room().print_day(day)
    logger.info("print batch", extra=asdict(batch))
    return asdict(batch)
