"""A debit run's results, one account at a time: paid, failed (asked for by transfer), or back to unpaid.

Triggered by: DebitResultsQueue messages (``DebitResultMessage``: the run's date, the account, its 振替結果コード,
the day of the import), sent by ``POST /v1/debit-runs/{date}/results`` once the whole file was checked.
Reads: the account's part of the run, its open documents, its profile.
Writes: a paid debit (one transaction: the payment's record and each document it pays), the mandate's state,
or the documents' failed state and new deadline.
Emits: ``InvoicePaid`` for each document paid off, ``PaymentFailed`` and a transfer request email for a debit
that failed. Each step is idempotent, so a redelivered message repeats nothing but the announcements.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.debit_wiring import debit_runs
from billing.observability import logger, tracer
from billing.payments.debit_runs import ResultOrder
from billing.schema.envelopes import DebitResultRecord

processor = BatchProcessor(event_type=EventType.SQS, model=DebitResultRecord)


def apply(record: DebitResultRecord) -> None:
    m = record.body
    order = ResultOrder(m.debit_date, m.account_id, m.code, m.imported_on)
    debit_runs().apply_result(order)
    logger.info(
        "debit result applied",
        extra={"debit_date": m.debit_date.isoformat(), "account_id": m.account_id, "outcome": order.outcome.value},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return process_partial_response(event, apply, processor, context)
