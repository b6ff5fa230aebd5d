"""The daily print run: batches planned and recorded first, then printed one SQS message each.

A run that cannot strand a letter:

1. **Plan.** The planner pages through the letters no batch owns yet
   (posting dates up to the print day, ``CATCH_UP_DAYS`` back), in one
   deterministic order: by letter key, i.e. account then document number.
   Each batch takes at least ``BATCH_SIZE`` letters and ends at an account
   boundary, so an account's letters stay in one batch (one envelope). One
   transaction records the batch (which letters, in order) and moves the
   day's run past it; nothing is claimed yet. A re-run of the day finds the
   recorded batches and records no other: letters that arrive later wait for
   the next day's run, never join a batch already made.
2. **Print.** The printer of batch *n* claims each of its letters
   (``batch_id``, conditional, so a letter belongs to one batch only; a
   letter another day's batch took first is left to that batch), renders the
   letters it owns, archives the PDF and manifest under Object Lock, marks
   each invoice ``posted`` and the batch written. A failure at any step
   leaves the message to be retried: the recorded batch and the claims fix
   the letters, so the retry writes the same bytes and finishes the rest.

Every planner call (the schedule's, or a re-run of a day) also re-sends the
batches of the last ``CATCH_UP_DAYS`` days that were recorded but are not
written, so a batch whose messages all failed is finished by the next run.
The stores are passed in; this module never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from billing import bank_calendar
from billing.delivery.channels import Letter, manifest_csv, pack_letters
from billing.delivery.notices import Notice, is_notice
from billing.invoicing.invoice import Invoice

BATCH_SIZE = 500  # letters per batch (each its own PDF and manifest); an account's letters are never split
BATCHES_PER_CALL = 20  # batches one planner call records before it hands the rest of the day to the next call
CATCH_UP_DAYS = 14  # a run takes letters left over from this many days back


@dataclass(frozen=True)
class LetterRef:
    """A letter waiting for a print run: the item ``LETTERS#<posting_on>`` / ``<account_id>#<invoice_number>``."""

    posting_on: str
    account_id: str
    invoice_number: str
    correlation_id: str | None = field(default=None, compare=False)  # its invoice's, for the print run's logs


@dataclass(frozen=True)
class PrintRun:
    """One print day's run, as recorded: how far planning got and which batches are written."""

    day: date
    batches: int = 0  # batches recorded, numbered 1..batches
    letters: int = 0  # letters in them
    after_account: str | None = None  # planning resumes after this account's letters
    planned: bool = False  # every waiting letter is in a recorded batch
    sent: int = 0  # batches 1..sent have had their message sent
    written: frozenset[int] = field(default_factory=frozenset)

    @property
    def unwritten(self) -> list[int]:
        return [number for number in range(1, self.batches + 1) if number not in self.written]


@dataclass(frozen=True)
class PlannedBatch:
    day: date
    number: int
    letters: tuple[LetterRef, ...]

    @property
    def batch_id(self) -> str:
        return batch_id(self.day, self.number)

    @property
    def pdf_key(self) -> str:
        return f"{batch_prefix(self.day, self.number)}letters.pdf"

    @property
    def manifest_key(self) -> str:
        return f"{batch_prefix(self.day, self.number)}manifest.csv"


@dataclass(frozen=True)
class WrittenBatch:
    """What a printed batch holds; ``letters`` can be fewer than planned if another batch owned some first."""

    batch_id: str
    letters: int
    envelopes: int
    pdf_key: str | None
    manifest_key: str | None

    def as_json(self) -> dict:
        return vars(self).copy()


def batch_id(day: date, number: int) -> str:
    return f"{day.isoformat()}-{number:04d}"


def batch_prefix(day: date, number: int) -> str:
    return f"print-batches/{day.isoformat()}/{number:04d}/"


def day_prefix(day: date) -> str:
    return f"print-batches/{day.isoformat()}/"


class PrintRunStore(Protocol):
    def start(self, day: date) -> PrintRun: ...
    def run(self, day: date) -> PrintRun | None: ...
    def runs(self, days: list[date]) -> list[PrintRun]: ...
    def waiting_letters(
        self, postings: list[date], after_account: str | None, page_size: int
    ) -> Iterator[LetterRef]: ...
    def record_batch(self, run: PrintRun, letters: list[LetterRef], planned: bool) -> PrintRun: ...
    def mark_sent(self, day: date, sent: int) -> None: ...
    def batch(self, day: date, number: int) -> tuple[PlannedBatch, WrittenBatch | None] | None: ...
    def claim(self, letter: LetterRef, batch_id: str) -> bool: ...
    def mark_written(self, day: date, number: int, written: WrittenBatch) -> None: ...


class InvoiceReader(Protocol):
    def get_many(self, keys: list[tuple[str, str]]) -> list[dict]: ...


class NoticeReader(Protocol):
    def get_many(self, keys: list[tuple[str, str]]) -> list[Notice]: ...


class PostingMarks(Protocol):
    def mark_posted(self, account_id: str, number: str, posted_on: date, arrival: date) -> bool: ...


class Archive(Protocol):
    def store(self, key: str, body: bytes, content_type: str = ...) -> str: ...


@dataclass(frozen=True)
class BatchToPrint:
    """A printer's work item: batch ``number`` of ``day``, posted on ``posting_on`` (later if it is a retry)."""

    day: date
    number: int
    posting_on: date


@dataclass(frozen=True)
class PlanStep:
    """What one planner call did: the run as it stands, the batches to send, and whether more planning is due."""

    run: PrintRun
    to_print: list[BatchToPrint]
    more: bool

    def as_json(self) -> dict:
        run = self.run
        return {
            "date": run.day.isoformat(),
            "batches": run.batches,
            "letters": run.letters,
            "planned": run.planned,
            "written": len(run.written),
            "batch_ids": [batch_id(run.day, number) for number in range(1, run.batches + 1)],
            "archive_prefix": day_prefix(run.day),
            "sent": [f"{batch_id(b.day, b.number)}@{b.posting_on.isoformat()}" for b in self.to_print],
            "continues": self.more,
        }


@dataclass
class PrintPlanner:
    runs: PrintRunStore
    batch_size: int = BATCH_SIZE
    batches_per_call: int = BATCHES_PER_CALL

    def plan(self, day: date, resend_unwritten: bool = True) -> PlanStep:
        """Record up to ``batches_per_call`` more batches of ``day``; the batches whose messages are due.

        ``resend_unwritten`` (the scheduled call and re-runs, not the
        continuation messages): also re-send every recorded batch of this
        day and the days before it that is not written yet.
        """
        if not bank_calendar.is_business_day(day):
            return PlanStep(PrintRun(day, planned=True), [], False)
        run = self.runs.start(day)
        earlier = self._unwritten_before(day) if resend_unwritten else []
        again = [BatchToPrint(day, n, day) for n in run.unwritten if n <= run.sent] if resend_unwritten else []
        postings = [day - timedelta(days=offset) for offset in range(CATCH_UP_DAYS, -1, -1)]
        waiting = None
        for _ in range(self.batches_per_call):
            if run.planned:
                break
            waiting = waiting or Lookahead(self.runs.waiting_letters(postings, run.after_account, self.batch_size))
            letters = next_batch(waiting, self.batch_size)
            recorded = self.runs.record_batch(run, letters, planned=waiting.peek() is None)
            if recorded.batches != run.batches + (1 if letters else 0) or recorded.after_account != (
                letters[-1].account_id if letters else run.after_account
            ):
                waiting = None  # another planner of the day recorded this batch first: read on from its end
            run = recorded
        fresh = [BatchToPrint(day, n, day) for n in range(run.sent + 1, run.batches + 1)]
        return PlanStep(run, earlier + again + fresh, not run.planned)

    def sent(self, step: PlanStep) -> None:
        """The step's messages are on the queue: a retry of the call need not send them again."""
        self.runs.mark_sent(step.run.day, step.run.batches)

    def _unwritten_before(self, day: date) -> list[BatchToPrint]:
        days = [day - timedelta(days=offset) for offset in range(CATCH_UP_DAYS, 0, -1)]
        return [BatchToPrint(run.day, n, day) for run in self.runs.runs(days) for n in run.unwritten if n <= run.sent]


class Lookahead:
    """An iterator whose next item can be looked at without taking it."""

    _EMPTY = object()

    def __init__(self, items: Iterator[LetterRef]):
        self._items, self._next = items, self._EMPTY

    def peek(self) -> LetterRef | None:
        if self._next is self._EMPTY:
            self._next = next(self._items, None)
        return self._next

    def take(self) -> LetterRef | None:
        item = self.peek()
        self._next = self._EMPTY
        return item


def next_batch(waiting: Lookahead, batch_size: int) -> list[LetterRef]:
    """At least ``batch_size`` letters (fewer only at the end), and every letter of the last account taken."""
    taken: list[LetterRef] = []
    while (letter := waiting.peek()) is not None:
        if len(taken) >= batch_size and letter.account_id != taken[-1].account_id:
            break
        taken.append(waiting.take())
    return taken


@dataclass
class Printer:
    runs: PrintRunStore
    invoices: InvoiceReader
    deliveries: PostingMarks
    archive: Archive
    render: Callable[[list[Invoice | Notice]], bytes]
    notices: NoticeReader | None = None  # the letters that are not invoices (transfer requests)
    printed: Callable[[LetterRef], None] = lambda letter: None  # told of each letter it printed (for the logs)

    def print_batch(self, work: BatchToPrint) -> WrittenBatch:
        """Write the recorded batch once: the same letters and bytes however often it is retried."""
        recorded = self.runs.batch(work.day, work.number)
        if recorded is None:
            raise LookupError(f"no print batch {batch_id(work.day, work.number)} was recorded")
        batch, done = recorded
        if done is not None:
            return done
        owned = [letter for letter in batch.letters if self.runs.claim(letter, batch.batch_id)]
        packed = self._pack(owned)
        if packed:
            self.archive.store(batch.pdf_key, self.render([letter.invoice for letter in packed]))
            self.archive.store(batch.manifest_key, manifest_csv(batch.batch_id, packed), "text/csv; charset=utf-8")
            arrival = bank_calendar.estimated_arrival(work.posting_on)
            for letter in packed:
                document = letter.invoice
                if isinstance(document, Invoice):  # a notice has no delivery state to record
                    self.deliveries.mark_posted(document.account_id, document.invoice_number, work.posting_on, arrival)
        for letter in owned:
            self.printed(letter)
        written = WrittenBatch(
            batch.batch_id,
            len(packed),
            len({letter.envelope for letter in packed}),
            batch.pdf_key if packed else None,
            batch.manifest_key if packed else None,
        )
        self.runs.mark_written(work.day, work.number, written)
        return written

    def _pack(self, owned: list[LetterRef]) -> list[Letter]:
        if not owned:
            return []
        keys = [(letter.account_id, letter.invoice_number) for letter in owned]
        invoices = [key for key in keys if not is_notice(key[1])]
        notices = [key for key in keys if is_notice(key[1])]
        documents: list[Invoice | Notice] = [Invoice.from_record(r) for r in self.invoices.get_many(invoices)]
        if notices:
            if self.notices is None:
                raise LookupError(f"a notice letter ({notices[0][1]}) and no notice store to read it from")
            documents += self.notices.get_many(notices)
        return pack_letters(documents)
