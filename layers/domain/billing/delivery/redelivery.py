"""Delivery heals itself: what was issued and is still undelivered is announced again.

A document is delivered once its notice is sent (web) or its letter is
queued for the print run (postal); the delivery's write records it
(``notified_at``, or the postal plan). Until then nothing may be its end: not
a crash of the deliverer, nor an ``InvoiceIssued`` that ran out of retries
and lies in the delivery dead-letter queue.

* ``sweep`` (a schedule, every 15 minutes) announces again every issued
  document that has waited longer than a grace period, finishes every
  correction or return invoice left ``numbered`` that long (its request
  stopped after its transaction: render, archive, mark issued and announce,
  by ``MonthCloser.finish``, the path the request itself takes), and
  re-drives the delivery dead letters. A month close's own invoice is never
  finished here: the close stores it issued, and its retry re-drives it;
* ``redrive`` (the sweep, or an operator's close-run retry) looks at each
  delivery dead letter: its document delivered meanwhile, the letter is
  deleted; else ``InvoiceIssued`` is published again from the stored record,
  then the letter deleted. A re-driven event that fails again comes back to
  the queue through the same retries, so the queue stays the ledger of what
  still fails, and its alarm keeps ringing while it does.

Delivery is idempotent (the notice's lease and ``notified_at``, the letter's
put-if-absent and the plan's condition), so announcing a document twice
sends nothing twice. The stores are passed in; this module never imports
boto3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from billing.invoicing.close_run import INVOICE_ISSUED, announceable, issued_event
from billing.invoicing.invoice import Invoice
from billing.vocabulary import DocumentKind, InvoiceStatus

# The standard library's: billing.observability sends the billing.* loggers through the functions' JSON log lines.
logger = logging.getLogger(__name__)

# Longer than a delivery's own retries (about 1 and 2 minutes after a failure, template.yaml's
# EventInvokeConfig) and the function's run: a document waiting longer is not merely in flight.
GRACE = timedelta(minutes=15)
MAX_PER_SWEEP = 2_000  # documents announced by one run; the next run takes the rest (oldest first)


def delivered(record: dict) -> bool:
    """Whether the document's delivery is recorded: its notice sent, or its letter queued."""
    if record.get("delivery_method") == "postal":
        return record.get("delivery_status") in ("batched", "posted")
    return "notified_at" in record


def dead_lettered_detail(body: dict | None) -> dict | None:
    """The ``InvoiceIssued`` detail a delivery dead letter carries, or None.

    The rule's dead-letter queue holds the event itself (EventBridge could not invoke the function); the
    function's ``OnFailure`` destination holds Lambda's invocation record, with the event as its
    ``requestPayload`` (the function failed on every attempt).
    """
    if not isinstance(body, dict):
        return None
    event = body.get("requestPayload", body)
    if not isinstance(event, dict) or event.get("detail-type") != INVOICE_ISSUED:
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict) or not all(
        isinstance(detail.get(k), str) for k in ("account_id", "invoice_number")
    ):
        return None
    return detail


def _waiting(record: dict) -> bool:
    """Issued, current and not delivered: what an announcement is still owed to."""
    return announceable(record) and not delivered(record)


def stuck(record: dict) -> bool:
    """A correction or return invoice stored ``numbered`` and never finished: its request stopped after its
    transaction. (A month close's invoice is stored issued; an old ``numbered`` one is its close's to finish.)"""
    return record.get("status") == InvoiceStatus.NUMBERED and record.get("kind") != DocumentKind.INVOICE


@dataclass
class Redriven:
    """What a look at the delivery dead letters did."""

    announced: list[str] = field(default_factory=list)  # documents announced again
    cleared: list[str] = field(default_factory=list)  # dead letters of documents delivered (or replaced) meanwhile
    left: int = 0  # dead letters not ours to handle (another month, unreadable, no such document)


@dataclass
class Redelivery:
    invoices: object  # InvoiceStore: get, get_many
    undelivered: object  # UndeliveredIndex: older_than, count_of_month
    dead_letters: object  # DeadLetterQueue of the delivery: look, release, delete
    announce_all: Callable[[str, list[dict]], list[int]]  # (detail type, details) -> the indexes not published
    # (record, correlation id) -> the record finished: MonthCloser.finish; None where nothing is finished here
    finish: Callable[[dict, str | None], dict] | None = None

    def sweep(self, now: datetime, grace: timedelta = GRACE, correlation_id: str | None = None) -> dict:
        """Finish every correction or return invoice left ``numbered``, and announce every issued document
        undelivered, for longer than ``grace``; re-drive the dead letters."""
        rows = self.undelivered.older_than(now - grace, MAX_PER_SWEEP)
        found = self.invoices.get_many([(row["account_id"], row["invoice_number"]) for row in rows])
        finished, not_finished = self._finish([record for record in found if stuck(record)], correlation_id)
        records = [record for record in found if _waiting(record)]
        published = self._announce(records, correlation_id)
        redriven = self.redrive(None, correlation_id, announced=set(published) | set(finished))
        return {
            "undelivered": len(rows),
            "finished": sorted(finished),
            "not_finished": sorted(not_finished),
            "announced": sorted(published),
            "not_announced": sorted({record["invoice_number"] for record in records} - set(published)),
            "dead_letters_redriven": redriven.announced,
            "dead_letters_cleared": redriven.cleared,
            "dead_letters_left": redriven.left,
        }

    def redrive(self, month: str | None, correlation_id: str | None, announced: set[str] = frozenset()) -> Redriven:
        """Deal with every delivery dead letter (of ``month``, or all): delivered or replaced since, delete it;
        else announce its document again (unless in ``announced``), then delete it. Letters not dealt with are
        released."""
        letters, done = self.dead_letters.look(), []
        outcome = Redriven()
        try:
            pending: dict[str, tuple[dict, list]] = {}  # number -> (record, its letters)
            for letter in letters:
                detail = dead_lettered_detail(letter.body)
                if detail is None or (month is not None and detail.get("month") != month):
                    outcome.left += 1
                    continue
                number = detail["invoice_number"]
                if number not in pending:
                    record = self.invoices.get(detail["account_id"], number)
                    # A replaced original's letters are cleared, never announced again: its correction has a
                    # delivery of its own, and telling the customer about a replaced document would only confuse.
                    if record is None or not InvoiceStatus.counts_as_issued(record.get("status")):
                        outcome.left += 1
                        continue
                    pending[number] = (record, [])
                pending[number][1].append(letter)
            waiting = {number for number, (record, _) in pending.items() if _waiting(record)}
            for number, (_, its_letters) in pending.items():
                if number not in waiting:
                    outcome.cleared.append(number)
                    done += its_letters
            to_announce = [pending[number][0] for number in pending if number in waiting and number not in announced]
            published = set(self._announce(to_announce, correlation_id)) | set(announced)
            for number, (_, its_letters) in pending.items():
                if number in waiting and number in published:
                    outcome.announced.append(number)
                    done += its_letters
            self.dead_letters.delete(done)  # announced again (or delivered): the queue must not hand them out twice
        finally:
            taken = {letter.message_id for letter in done}
            self.dead_letters.release([letter for letter in letters if letter.message_id not in taken])
        return outcome

    def dead_letters_of(self, month: str) -> int:
        """How many delivery dead letters name a document of ``month`` (looked at, then released)."""
        letters = self.dead_letters.look()
        try:
            return sum(1 for letter in letters if (dead_lettered_detail(letter.body) or {}).get("month") == month)
        finally:
            self.dead_letters.release(letters)

    # ------------------------------------------------------------ internals
    def _finish(self, records: list[dict], correlation_id: str | None) -> tuple[list[str], list[str]]:
        """Finish each stuck document (archived, issued, announced: each once); the numbers finished, and those
        that failed (left for the next sweep, which finds them still ``numbered``)."""
        finished, failed = [], []
        for record in records:
            if self.finish is None:
                failed.append(record["invoice_number"])
                continue
            try:
                self.finish(record, correlation_id)
            except Exception:  # one document's failure must not keep the others, or the announcements, waiting
                logger.exception("could not finish a document", extra={"invoice_number": record["invoice_number"]})
                failed.append(record["invoice_number"])
            else:
                finished.append(record["invoice_number"])
        return finished, failed

    def _announce(self, records: list[dict], correlation_id: str | None) -> list[str]:
        """Publish ``InvoiceIssued`` for each record, from the record itself; the numbers published."""
        details = [issued_event(Invoice.from_record(record), record, correlation_id) for record in records]
        failed = set(self.announce_all(INVOICE_ISSUED, details))
        return [record["invoice_number"] for i, record in enumerate(records) if i not in failed]
