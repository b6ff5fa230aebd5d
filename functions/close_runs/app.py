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

from billing.dal import stores
from billing.dal.dead_letters import DeadLetter
from billing.dal.messaging import send_messages
from billing.dal.redelivery import redelivery as wired
from billing.delivery.redelivery import Redelivery, Redriven
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
    letters = stores.issue_dead_letters().look()
    dead_letters = len(_of_month(letters, month))
    stores.issue_dead_letters().release(letters)
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
    run = logger.get_correlation_id()  # this request's id: the retried invoices are followed by it
    failed = []  # what could not be done this time; each part is safe to repeat, so the next retry does it
    # Each queue is re-driven on its own: one failing never stops the other, nor turns what was done into a 5xx.
    try:
        queued, dead_letters = _reissue(month, run)
    except Exception:
        logger.exception("could not re-issue the month's failed accounts", extra={"month": month})
        queued, dead_letters = 0, 0
        failed.append("reissue")
    try:
        redriven = redelivery().redrive(month, run)
    except Exception:
        logger.exception("could not re-drive the month's delivery dead letters", extra={"month": month})
        redriven = Redriven()
        failed.append("redeliver")
    logger.info(
        "close run retried",
        extra={
            "month": month,
            "queued": queued,
            "dead_letters": dead_letters,
            "redelivered": redriven.announced,
            "delivered_already": redriven.cleared,
            "failed": failed,
        },
    )
    body = {"month": month, "queued": queued, "redelivered": len(redriven.announced), "failed": failed}
    return json_response(202, body)


def _reissue(month: str, run: str | None) -> tuple[int, int]:
    """Send every failed or dead-lettered account of ``month`` to be issued again under its reserved number,
    then delete its issue dead letters; how many were sent, and how many dead letters they came from."""
    letters = stores.issue_dead_letters().look()
    ours = _of_month(letters, month)
    taken = {dead.message_id for dead, _ in ours}
    try:
        # An account's number is the one its page reserved; the failure record and the message both carry it.
        retries = {message.account_id: message.sequence for _, message in ours}
        retries |= {failure.account_id: failure.sequence for failure in stores.close_runs().failures(month)}
        messages = [
            IssueInvoiceMessage(month=month, account_id=a, sequence=n, retry=True, correlation_id=run)
            for a, n in retries.items()
        ]
        send_messages(settings().issue_invoice_queue_url, [message.body() for message in messages])
        # Sent again: the DLQ must not hand them out twice.
        stores.issue_dead_letters().delete([dead for dead, _ in ours])
    except BaseException:
        taken = set()  # not all sent (or not deleted): every letter goes back, for the next retry to send again
        raise
    finally:
        stores.issue_dead_letters().release([letter for letter in letters if letter.message_id not in taken])
    return len(messages), len(ours)


def _started(month: str) -> CloseRunProgress:
    progress = stores.close_runs().progress(month)
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
