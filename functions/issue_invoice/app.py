"""Issues one account's invoice for a closed month.

Triggered by: IssueInvoiceQueue messages (``IssueInvoiceMessage``: month, account_id, sequence)
(the sequence is the invoice number the close reserved for the account; batch,
with partial failures reported; a message that keeps failing goes to the DLQ).
Reads: the profile and usage in the BillingTable, the tariff and issuer files.
Writes: the frozen usage, the invoice record under its reserved number, the PDF to the
InvoiceBucket under Object Lock, and the close run's progress; on an account's last
failed try, its failure record with the reserved number (a retry that issues it removes the record).
Emits: ``InvoiceIssued`` on the invoicing event bus, with the message's correlation id (the close run's or
the operator's retry request's), which every log line of the account's issue carries too. A batch's events go
out together once its messages are done (PutEvents takes 10); a message whose event was not published is
reported failed, so SQS redelivers it and its re-run announces again.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.dal.close_runs import month_closer
from billing.dal.messaging import publish_all
from billing.invoicing.close_run import INVOICE_ISSUED, MonthCloser
from billing.invoicing.numbers import invoice_number
from billing.observability import follow, logger, metrics, tracer
from billing.schema.envelopes import IssueInvoiceRecord
from billing.settings import settings
from invoice_pdf.render import render_invoice_pdf

processor = BatchProcessor(event_type=EventType.SQS, model=IssueInvoiceRecord)
announcements: dict[str, dict] = {}  # this batch's InvoiceIssued details, by message id, published at its end


@functools.cache
def closer() -> MonthCloser:
    return month_closer(render_invoice_pdf)


def issue(record: IssueInvoiceRecord) -> str:
    message = record.body
    month, account_id = message.month, message.account_id
    number = invoice_number(month, message.sequence)
    run = follow(message.correlation_id or record.messageId, account_id=account_id, month=month, invoice_number=number)
    runs = closer().stores.runs
    try:
        closed = closer().close_account(account_id, month, message.sequence, correlation_id=run)
    except Exception as error:
        logger.exception("invoice not issued", extra={"receive_count": record.attributes.ApproximateReceiveCount})
        if int(record.attributes.ApproximateReceiveCount) >= settings().issue_max_receive_count:
            # Its last try: SQS moves it to the DLQ. The record keeps its reserved number for a retry.
            runs.record_failure(month, account_id, message.sequence, f"{type(error).__name__}: {error}")
        raise
    outcome = closed.outcome
    if closed.announcement:
        announcements[record.messageId] = closed.announcement
    if outcome == "issued" and message.retry:
        runs.clear_failure(month, account_id)
    metrics.add_metric(name=f"Invoices{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info(f"invoice {outcome}", extra={"outcome": outcome})
    return outcome


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    announcements.clear()
    response = process_partial_response(event, issue, processor, context)
    ids = list(announcements)
    unpublished = publish_all(settings().event_bus_name, INVOICE_ISSUED, [announcements[i] for i in ids])
    if unpublished:
        logger.error("InvoiceIssued not published; the messages come back", extra={"messages": len(unpublished)})
        response["batchItemFailures"] += [{"itemIdentifier": ids[i]} for i in unpublished]
    return response
