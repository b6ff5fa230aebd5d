"""Debit runs: the daily schedule makes the run due, and each page of a run's documents is planned here.

Triggered by: the EventBridge Scheduler at 09:00 Asia/Tokyo every day (input optional: ``DebitRunInput``,
``{"debit_date": "YYYY-MM-DD"}`` names the run; ``{"date": "YYYY-MM-DD"}`` runs as on that day; empty makes the
run of the debit date ``DebitLeadBusinessDays`` bank business days ahead, if today is that day), and by
DebitRunPagesQueue messages (``DebitRunPageMessage``: date, shard, cursor) that the run sends itself.
Reads: the run's record, one page of the DocumentsByPayBy index, the page's accounts' profiles.
Writes: the run's record, each account's part of the run with its documents' hold (one transaction each), and
once every shard is planned the request file, archived under ``debit-runs/<date>/request.txt``.
Emits: the shard's next page; a transfer request email for an account that cannot be debited.
Decides nothing itself: ``billing.payments.debit_runs.DebitRunFanOut`` does.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.bank_calendar import debit_to_request
from billing.debit_wiring import debit_runs, tokyo_today
from billing.observability import logger, tracer
from billing.payments.debit_runs import RunPage
from billing.schema.envelopes import DebitRunPageRecord
from billing.schema.messages import DebitRunInput
from billing.settings import settings

processor = BatchProcessor(event_type=EventType.SQS, model=DebitRunPageRecord)


def plan_page(record: DebitRunPageRecord) -> None:
    message = record.body
    debit_runs().plan_page(RunPage(message.debit_date, message.shard, message.cursor))
    logger.info("debit run page planned", extra={"debit_date": message.debit_date.isoformat(), "shard": message.shard})


def start(requested: DebitRunInput) -> dict:
    today = requested.date or tokyo_today()
    debit_date = requested.debit_date or debit_to_request(today, settings().debit_lead_business_days)
    if debit_date is None:
        logger.info("no debit run is due today", extra={"today": today.isoformat()})
        return {"debit_date": None}
    run, created = debit_runs().start(debit_date)
    logger.info("debit run started", extra={"debit_date": debit_date.isoformat(), "new": created})
    return {"debit_date": debit_date.isoformat(), "status": run.status.value}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event, plan_page, processor, context)
    return start(DebitRunInput.model_validate(event or {}))
