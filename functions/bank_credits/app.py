"""One page of a bank file's records: each payment recorded once, matched and allocated, each cancellation
applied.

Triggered by: BankCreditPagesQueue messages (``BankCreditPageMessage``: the file's sha256, the page number and
its records), sent by ``POST /v1/bank-statements`` once the whole file was checked.
Reads: the accounts of the page's customer numbers and payer names (by key); each matched account's open
documents; the payment a cancellation names.
Writes: each payment in one transaction with its allocation (or alone, unmatched); a cancellation's undoing in
one transaction; the page counted into its file, once.
Emits: ``InvoicePaid`` for each document a payment paid off. A page delivered again records nothing twice.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.bank_wiring import bank_imports, credit_page
from billing.observability import logger, tracer
from billing.schema.envelopes import BankCreditPageRecord

processor = BatchProcessor(event_type=EventType.SQS, model=BankCreditPageRecord)


def apply(record: BankCreditPageRecord) -> None:
    page = credit_page(record.body)
    file = bank_imports().import_page(page)
    logger.info(
        "bank file page imported",
        extra={"sha256": page.sha256, "page": page.page, "pages_done": len(file.pages_done), "pages": file.pages},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return process_partial_response(event, apply, processor, context)
