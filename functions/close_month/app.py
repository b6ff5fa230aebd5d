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
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing import months
from billing.dal import keys, stores
from billing.dal.messaging import send_messages
from billing.errors import CloseOutOfOrder
from billing.invoicing.close_run import billable, month_to_close
from billing.observability import follow, logger, tracer
from billing.schema.envelopes import AccountPageRecord
from billing.schema.messages import AccountPageMessage, CloseMonthInput, IssueInvoiceMessage
from billing.settings import settings

PAGE_SIZE = 500
processor = BatchProcessor(event_type=EventType.SQS, model=AccountPageRecord)


def start_close(requested_month: str | None, request_id: str) -> dict:
    """Record the run and queue the first page of every shard."""
    month = month_to_close(requested_month, months.month_of(datetime.now(months.TOKYO)))
    run = follow(f"close/{month}/{request_id}", month=month)
    try:
        started = stores.close_runs().start(month)
    except CloseOutOfOrder as refused:
        logger.error("month close refused", extra={"month": month, "open_month": refused.open_month})
        raise
    pages = [AccountPageMessage(month=month, shard=shard, correlation_id=run) for shard in keys.all_shards()]
    send_messages(settings().account_pages_queue_url, [page.body() for page in pages])
    logger.info("month close started", extra={"month": month, "shards": len(pages), "first_start": started})
    return {"month": month, "shards": len(pages), "started": started, "correlation_id": run}


def fan_out_page(record: AccountPageRecord) -> None:
    message = record.body
    month, shard, cursor = message.month, message.shard, message.cursor
    run = follow(message.correlation_id or f"close/{month}/{record.messageId}", month=month, shard=shard)
    accounts, runs = stores.accounts(), stores.close_runs()
    page_id = f"{shard}:{hashlib.sha256(json.dumps(cursor, sort_keys=True).encode()).hexdigest()[:16]}"
    # A redelivered page re-sends what it recorded the first time: the same accounts with the same numbers.
    page = runs.page(month, page_id)
    if page is None:
        found, next_cursor = accounts.page(shard, cursor, PAGE_SIZE)
        billable_ids = [account["account_id"] for account in found if billable(month, account)]
        page = runs.record_page(month, page_id, billable_ids, next_cursor)
    numbered = page.numbered()
    issues = [IssueInvoiceMessage(month=month, account_id=a, sequence=n, correlation_id=run) for a, n in numbered]
    send_messages(settings().issue_invoice_queue_url, [issue.body() for issue in issues])
    logger.info("close page queued", extra={"accounts": [a for a, _ in numbered], "more": bool(page.next_cursor)})
    if page.next_cursor:
        next_page = AccountPageMessage(month=month, shard=shard, cursor=page.next_cursor, correlation_id=run)
        send_messages(settings().account_pages_queue_url, [next_page.body()])


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event, fan_out_page, processor, context)
    return start_close(CloseMonthInput.model_validate(event or {}).month, context.aws_request_id)
