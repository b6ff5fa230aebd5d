"""Month close: starts the run and fans accounts out, one page per invocation.

Triggered by: the EventBridge Scheduler at 00:30 Asia/Tokyo on the 1st (input
optional: ``CloseMonthInput``, ``{"month": "2026-10"}``), and by AccountPagesQueue
messages (``AccountPageMessage``: month, shard, cursor) that this function sends itself.
Refuses (``CloseOutOfOrder``, the invocation fails naming the month to close first) a month while an earlier one
is open: months close in order, each once every account of the month before it is closed.
Reads: the closes' mark and the previous month's close run; the AccountsByShard index of the BillingTable, one
page at a time.
Writes: the month's close-run record, and one record per page with the
invoice numbers reserved for its billable accounts (``billing.dal.close_runs``).
Emits: one IssueInvoiceQueue message per billable account, with its number,
and the next page's AccountPagesQueue message, so no invocation walks the
whole month. Every message carries the run's correlation id,
``close/<month>/<request id of the scheduled invocation>``.
Decides nothing itself: it parses its event, calls the domain's fan-out
(``billing.invoicing.close_run.MonthFanOut``, wired to the stack's stores and
queues) and logs what it did.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from datetime import datetime

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing import months
from billing.dal import keys, stores
from billing.dal.messaging import send_messages
from billing.errors import CloseOutOfOrder
from billing.invoicing.close_run import AccountPage, IssueOrder, MonthFanOut, month_to_close
from billing.observability import follow, logger, tracer
from billing.schema.envelopes import AccountPageRecord
from billing.schema.messages import AccountPageMessage, CloseMonthInput, IssueInvoiceMessage
from billing.settings import settings

processor = BatchProcessor(event_type=EventType.SQS, model=AccountPageRecord)


@functools.cache
def fan_out() -> MonthFanOut:
    """The domain's fan-out, on the stack's accounts, close-run records, shards and queues."""
    return MonthFanOut(
        accounts=stores.accounts(),
        runs=stores.close_runs(),
        shards=keys.all_shards(),
        queue_pages=queue_pages,
        queue_issues=queue_issues,
    )


def queue_pages(pages: list[AccountPage]) -> None:
    send_messages(settings().account_pages_queue_url, [AccountPageMessage(**asdict(page)).body() for page in pages])


def queue_issues(orders: list[IssueOrder]) -> None:
    send_messages(settings().issue_invoice_queue_url, [IssueInvoiceMessage(**asdict(o)).body() for o in orders])


def start_close(requested_month: str | None, request_id: str) -> dict:
    month = month_to_close(requested_month, months.month_of(datetime.now(months.TOKYO)))
    run = follow(f"close/{month}/{request_id}", month=month)
    try:
        started = fan_out().start(month, correlation_id=run)
    except CloseOutOfOrder as refused:
        logger.error("month close refused", extra={"month": month, "open_month": refused.open_month})
        raise
    logger.info(
        "month close started", extra={"month": month, "shards": started["shards"], "first_start": started["started"]}
    )
    return started


def fan_out_page(record: AccountPageRecord) -> None:
    message = record.body
    run = follow(
        message.correlation_id or f"close/{message.month}/{record.messageId}", month=message.month, shard=message.shard
    )
    queued = fan_out().fan_out(AccountPage(message.month, message.shard, message.cursor, correlation_id=run))
    accounts = [order.account_id for order in queued.issues]
    logger.info("close page queued", extra={"accounts": accounts, "more": queued.next_page is not None})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event, fan_out_page, processor, context)
    return start_close(CloseMonthInput.model_validate(event or {}).month, context.aws_request_id)
