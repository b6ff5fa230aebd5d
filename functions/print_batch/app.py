"""Writes one recorded print batch for the mail house.

Triggered by: PrintBatchQueue messages (``PrintBatchMessage``: date, batch,
posting_on) from the print-run planner (``functions/print_run``); batch size
1, partial failures reported, and a batch that keeps failing goes to the DLQ
(alarmed). The next run re-sends a batch that is recorded but not written.
Reads: the batch's record (its letters, in order) and their invoices, or notices (a transfer request by post).
Writes: each of its letters' claim (``batch_id``: a letter another batch
claimed first is left to it), then ``print-batches/<date>/<nnnn>/letters.pdf``
(each invoice on its own sheet, with the window-envelope address) and
``manifest.csv`` (batch, sheet and envelope of each letter) to the
InvoiceBucket under Object Lock, each invoice's ``posted`` status with its
posting date and arrival estimate, and the batch's written record. A retry
writes the same bytes and finishes what the failed try left. Each letter's
log line carries the correlation id its invoice was delivered with; the
batch's own lines carry ``print/<date>``.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.dal import stores
from billing.delivery.print_run import BatchToPrint, LetterRef, Printer, batch_id
from billing.observability import follow, logger, tracer
from billing.schema.envelopes import PrintBatchRecord
from invoice_pdf.render import render_statement_sheets

processor = BatchProcessor(event_type=EventType.SQS, model=PrintBatchRecord)


@functools.cache
def printer() -> Printer:
    return Printer(
        runs=stores.print_runs(),
        invoices=stores.invoices(),
        deliveries=stores.deliveries(),
        archive=stores.archive(),
        render=render_statement_sheets,
        notices=stores.notices(),
        printed=log_letter,
    )


def log_letter(letter: LetterRef) -> None:
    """One line per letter, under its invoice's correlation id, so following an invoice reaches its print run."""
    extra = {"invoice_number": letter.invoice_number, "account_id": letter.account_id}
    if letter.correlation_id:
        extra["correlation_id"] = letter.correlation_id
    logger.info("letter printed", extra=extra)


def write_batch(record: PrintBatchRecord) -> dict:
    message = record.body
    follow(f"print/{message.date}", print_batch=batch_id(message.date, message.batch))
    written = printer().print_batch(BatchToPrint(message.date, message.batch, message.posting_on))
    logger.info("print batch written", extra=written.as_json())
    return written.as_json()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return process_partial_response(event, write_batch, processor, context)
