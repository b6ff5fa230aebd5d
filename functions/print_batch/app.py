"""Makes the day's print batch for postal invoices.

Triggered by: the EventBridge Scheduler at 15:00 Asia/Tokyo on weekdays
(holidays are skipped here, by the bank calendar). Input optional:
``{"date": "2026-11-02"}`` re-makes that day's batch (the same batch).
Reads: letters waiting up to that posting date and their invoices.
Writes: ``print-batches/<date>/letters.pdf`` (each invoice on its own sheet,
with the window-envelope address) and ``manifest.csv`` for the mail house to
the InvoiceBucket, and each invoice's posting date, arrival estimate and
``posted`` status. Each letter's log line carries the correlation id its
invoice was delivered with; the run's own lines carry ``print/<date>``.
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
from billing.observability import follow, logger, tracer
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
        printed=log_letter,
    )


def log_letter(letter: dict) -> None:
    """One line per letter, under its invoice's correlation id, so following an invoice reaches its print run."""
    extra = {"invoice_number": letter["invoice_number"], "account_id": letter["account_id"]}
    if letter.get("correlation_id"):
        extra["correlation_id"] = letter["correlation_id"]
    logger.info("letter printed", extra=extra)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    requested = PrintRunInput.model_validate(event or {}).date
    day: date = requested or datetime.now(months.TOKYO).date()
    follow(f"print/{day.isoformat()}", print_run=day.isoformat())
    batch = print_room().print_day(day)
    logger.info("print batch", extra=asdict(batch))
    return asdict(batch)
