"""Plans the day's print run: records its batches, then sends one PrintBatchQueue message per batch.

Triggered by: the EventBridge Scheduler at 15:00 Asia/Tokyo on weekdays
(holidays are skipped here, by the bank calendar); input optional
(``PrintRunInput``): ``{"date": "2026-11-02"}`` re-runs that day, giving the
same batches. Also by PrintRunQueue messages (``PrintRunMessage``: date) that
this function sends itself, so no invocation plans more than
``BATCHES_PER_CALL`` batches however many letters wait.
Reads: the letters waiting up to that posting date (``LETTERS#<date>``, up to
14 days back, unclaimed ones only), a page at a time, and the print runs of
the 14 days before.
Writes: the day's run record and each batch's record (which letters, in
order: account, then document number; at least 500 letters, never splitting
an account) before any letter is claimed (``billing.dal.print_runs``).
Emits: one PrintBatchQueue message (``PrintBatchMessage``) per batch recorded,
and, from the scheduled call or a re-run, one per earlier recorded batch that
is not written yet (its letters are finished, never stranded); the next
PrintRunQueue message while the day is not fully planned.
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing import months
from billing.dal import stores
from billing.dal.messaging import send_messages
from billing.delivery.print_run import PlanStep, PrintPlanner
from billing.observability import follow, logger, tracer
from billing.schema.envelopes import PrintRunRecord
from billing.schema.messages import PrintBatchMessage, PrintRunInput, PrintRunMessage
from billing.settings import settings

processor = BatchProcessor(event_type=EventType.SQS, model=PrintRunRecord)


@functools.cache
def planner() -> PrintPlanner:
    return PrintPlanner(stores.print_runs())


def plan(day: date, resend_unwritten: bool) -> dict:
    follow(f"print/{day.isoformat()}", print_run=day.isoformat())
    step: PlanStep = planner().plan(day, resend_unwritten)
    batches = [
        PrintBatchMessage(date=work.day, batch=work.number, posting_on=work.posting_on).body() for work in step.to_print
    ]
    send_messages(settings().print_batch_queue_url, batches)
    planner().sent(step)
    if step.more:
        send_messages(settings().print_run_queue_url, [PrintRunMessage(date=day).body()])
    summary = step.as_json()
    logger.info("print run planned", extra={k: v for k, v in summary.items() if k != "batch_ids"})
    return summary


def continue_run(record: PrintRunRecord) -> None:
    plan(record.body.date, resend_unwritten=False)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event, continue_run, processor, context)
    requested = PrintRunInput.model_validate(event or {}).date
    return plan(requested or datetime.now(months.TOKYO).date(), resend_unwritten=True)
