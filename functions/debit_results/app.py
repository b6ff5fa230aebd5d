"""A debit run's results, one account at a time: paid, failed (asked for by transfer), or back to unpaid.

Triggered by: DebitResultsQueue messages (``DebitResultMessage``: the run's date, the account, its 振替結果コード,
the day of the import), sent by ``POST /v1/debit-runs/{date}/results`` once the whole file was checked.
Reads: nothing (the message carries the account's part of the run); a document paid by transfer meanwhile makes
a paid debit read the account's open documents.
Writes: a paid debit in one transaction (the payment's record, each document it pays, the credit left and, on a
first debit, the mandate made active), or the documents' failed state and new deadline (one transaction, with
the mandate rejected for codes 2-4), or the documents released (code 8).
Emits: ``InvoicePaid`` for each document paid off, ``PaymentFailed`` and a transfer request email for a debit
that failed. Each step is idempotent, so a redelivered message repeats nothing but the announcements.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.debit_wiring import debit_runs, result_order
from billing.observability import logger, tracer
from billing.schema.envelopes import DebitResultRecord

processor = BatchProcessor(event_type=EventType.SQS, model=DebitResultRecord)


def apply(record: DebitResultRecord) -> None:
    order = result_order(record.body)
    debit_runs().apply_result(order)
    logger.info(
        "debit result applied",
        extra={"debit_date": order.debit_date.isoformat(), "account_id": order.account_id, "outcome": order.outcome},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return process_partial_response(event, apply, processor, context)
