"""Close runs for operators: watch a month's close, and re-issue or re-deliver what it could not (HttpApi, AWS_IAM).

Triggered by:
- GET /v1/close-runs/{month}: the run's progress and status (``running``, ``done`` or ``attention``), with the
  month's documents still undelivered and its delivery dead letters;
- POST /v1/close-runs/{month}/retry: re-issues every failed or dead-lettered account of the month under the
  number reserved for it, so the month's numbers stay gapless, and re-drives the month's delivery dead
  letters (202 with the numbers queued and re-announced).
Reads: the month's close-run, counter, progress and failure records in the BillingTable; the
DocumentsUndelivered index; the IssueInvoiceDeadLetterQueue and DeliverInvoiceDeadLetterQueue, looked at in
place (received with a short visibility, then released), and the documents the delivery dead letters name.
Writes: nothing in the table (the issuer removes a failure record once its retry issues the account).
Emits: IssueInvoiceQueue messages and ``InvoiceIssued`` events (a retry), and deletes from each DLQ the
month's messages it re-sent (or whose document was delivered meanwhile).
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.logging import correlation_paths
from pydantic import ValidationError

from billing.dal.close_runs import CloseRunStore
from billing.dal.dead_letters import DeadLetter, DeadLetterQueue
from billing.dal.messaging import send_messages
from billing.dal.redelivery import redelivery as wired
from billing.delivery.redelivery import Redelivery
from billing.errors import NotFound
from billing.http import create_resolver, documented, json_response
from billing.invoicing.close_run import CloseRunProgress, close_run_view
from billing.observability import logger, tracer
from billing.schema.close_runs import CloseRunOut, CloseRunRetryOut
from billing.schema.messages import IssueInvoiceMessage
from billing.schema.params import MonthPath
from billing.settings import settings

app = create_resolver()


@functools.cache
def runs() -> CloseRunStore:
    return CloseRunStore(settings().table_name)


@functools.cache
def dead_letter_queue() -> DeadLetterQueue:
    return DeadLetterQueue(settings().issue_invoice_dead_letter_queue_url)


@functools.cache
def redelivery() -> Redelivery:
    return wired()


@app.get(
    "/v1/close-runs/<month>",
    summary="A month close's progress: accounts, issued, skipped, failed, dead letters, numbers used, documents"
    " undelivered and delivery dead letters; for operators",
    responses=documented(CloseRunOut, NotFound),
)
def get_close_run(month: MonthPath):
    progress = _started(month)
    letters = dead_letter_queue().look()
    dead_letters = len(_of_month(letters, month))
    dead_letter_queue().release(letters)
    undelivered = redelivery().undelivered.count_of_month(month)
    return close_run_view(progress, dead_letters, undelivered, redelivery().dead_letters_of(month))


@app.post(
    "/v1/close-runs/<month>/retry",
    summary="Issue every failed or dead-lettered account of a month again, under its reserved number, and"
    " re-drive its delivery dead letters; for operators",
    responses=documented(CloseRunRetryOut, NotFound, status=202, description="queued"),
)
def retry_close_run(month: MonthPath):
    _started(month)
    letters = dead_letter_queue().look()
    ours = _of_month(letters, month)
    taken = {dead.message_id for dead, _ in ours}
    try:
        # An account's number is the one its page reserved; the failure record and the message both carry it.
        retries = {message.account_id: message.sequence for _, message in ours}
        retries |= {failure.account_id: failure.sequence for failure in runs().failures(month)}
        run = logger.get_correlation_id()  # this request's id: the retried invoices are followed by it
        messages = [
            IssueInvoiceMessage(month=month, account_id=a, sequence=n, retry=True, correlation_id=run)
            for a, n in retries.items()
        ]
        send_messages(settings().issue_invoice_queue_url, [message.body() for message in messages])
        dead_letter_queue().delete([dead for dead, _ in ours])  # sent again: the DLQ must not hand them out twice
    finally:
        dead_letter_queue().release([letter for letter in letters if letter.message_id not in taken])
    redriven = redelivery().redrive(month, run)
    logger.info(
        "close run retried",
        extra={
            "month": month,
            "queued": len(messages),
            "dead_letters": len(ours),
            "redelivered": redriven.announced,
            "delivered_already": redriven.cleared,
        },
    )
    return json_response(202, {"month": month, "queued": len(messages), "redelivered": len(redriven.announced)})


def _started(month: str) -> CloseRunProgress:
    progress = runs().progress(month)
    if progress is None:
        raise NotFound(f"the close of {month} has not started")
    return progress


def _of_month(letters: list[DeadLetter], month: str) -> list[tuple[DeadLetter, IssueInvoiceMessage]]:
    """The dead letters that are this month's issue messages (anything else stays in the queue, untouched)."""
    found = []
    for letter in letters:
        if letter.body is None or letter.body.get("month") != month:
            continue
        try:
            found.append((letter, IssueInvoiceMessage.model_validate(letter.body)))
        except ValidationError:
            logger.warning("unreadable dead letter", extra={"message_id": letter.message_id})
    return found


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
