"""Reminders (督促): the daily schedule starts the run, and each page of due documents is reminded here.

Triggered by: the EventBridge Scheduler at 09:30 Asia/Tokyo every day (input optional: ``ReminderRunInput``,
``{"date": "YYYY-MM-DD"}`` runs as on that day), and by ReminderPagesQueue messages (``ReminderPageMessage``:
the run's day, a ``pay_by`` date, an account shard, a cursor) that the run sends itself.
Reads: one page of the DocumentsByPayBy index (documents still owing), the page's accounts' profiles.
Writes: each reminder on its document, once (recorded before it is sent, marked sent after); a postal account's
reminder as a letter for the next print run.
Emits: the page's next page; a reminder email for a web account; ``InvoiceOverdue`` with a document's first
reminder. Decides nothing itself: ``billing.payments.reminders.ReminderRun`` does.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from billing.debit_wiring import tokyo_today
from billing.observability import logger, tracer
from billing.reminder_wiring import reminder_page, reminder_run
from billing.schema.envelopes import ReminderPageRecord
from billing.schema.messages import ReminderRunInput

processor = BatchProcessor(event_type=EventType.SQS, model=ReminderPageRecord)


def remind_page(record: ReminderPageRecord) -> None:
    page = reminder_page(record.body)
    sent = reminder_run().remind_page(page)
    logger.info(
        "reminder page done",
        extra={"today": page.today.isoformat(), "pay_by": page.pay_by.isoformat(), "shard": page.shard, "sent": sent},
    )


def start(requested: ReminderRunInput) -> dict:
    today = requested.date or tokyo_today()
    pages = reminder_run().start(today)
    logger.info("reminder run started", extra={"today": today.isoformat(), "pages": pages})
    return {"date": today.isoformat(), "pages": pages}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event, remind_page, processor, context)
    return start(ReminderRunInput.model_validate(event or {}))
