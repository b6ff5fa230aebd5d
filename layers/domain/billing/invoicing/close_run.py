"""A month's close run: the month it closes, each account's close, and the run as an operator watches it.

**Which month.** A run closes one ended month (``month_to_close``), and months
close in order (``check_close_order``).

**The fan-out** (``MonthFanOut``): the run starts by queuing the first page of
every shard of the accounts; each page, one call each, lists its accounts,
keeps the billable ones and reserves their invoice numbers in one record
(``billing.dal.close_runs``), queues one issue order per account and the
shard's next page. A page delivered twice re-sends what its record holds: the
same accounts under the same numbers.

**One account's close**: shut, freeze, render, archive, store, announce. The
steps are ordered so that a crash between any two of them is repaired by
simply running again (SQS redelivers the message):

1. shut the account's gate for the month (later counts get 409, and its
   terms can no longer change), reading the profile with the same write;
2. freeze the usage (idempotent: the first frozen values stay). The invoice
   is now a pure function of what is frozen, the month's terms, the tariff
   and the issuer, under the number the close reserved for the account when
   it fanned its page out;
3. render the PDF and the JP PINT e-invoice (XML) and archive each where
   absent (deterministic: a re-run makes the same bytes, and the archive
   checks them);
4. store the invoice as issued, once, in one transaction with its count in
   the close run and the close's carry-over (the next month's opening count),
   flagged ``correction_suggested`` when the late reports kept since the gate
   shut put the month in a higher bracket (``UsageStore.late_flag``);
   a re-run finds the gate shut and the record stored, and stops there;
5. announce ``InvoiceIssued`` (every run that gets this far: consumers are
   idempotent, so a repeat after a crash is harmless). The close hands the
   announcement back to its caller, which publishes a batch's in one call.

Corrections and return invoices are stored ``numbered`` first and finished by
``MonthCloser.finish`` (render, archive, mark issued, announce, each once).
The stores are passed in: this module never imports boto3.

**The run as an operator watches it**: how far it got, whether someone must
look at it, and whether the next month may close. Every number the close
reserves is meant for an invoice, so the run ends in one of two ways. Either
every account of every fanned-out page is issued (or skipped) and the month
is ``done``; or some account could not be issued: it failed its last try
(the issuer recorded it, with its reserved number) or its message sits in the
dead-letter queue, and the run needs ``attention``. A retry re-issues those
accounts under the numbers reserved for them, so the month's numbers stay
gapless. Until then the run is ``running``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from billing import months
from billing.contracts.accounts import contract_covers
from billing.errors import AccountNotFound, CloseOutOfOrder, InvalidRequest
from billing.invoicing.announcements import issued_event
from billing.invoicing.einvoice import CONTENT_TYPE as EINVOICE_CONTENT_TYPE
from billing.invoicing.einvoice import einvoice_key, render_einvoice
from billing.invoicing.invoice import Invoice, build_invoice
from billing.invoicing.issuer import Issuer
from billing.invoicing.numbers import invoice_number
from billing.tariff import Tariff

INVOICE_ISSUED = "InvoiceIssued"
PAGE_SIZE = 500  # accounts one fan-out call reads, records and queues at most


# ---------------------------------------------------------------- the run: its month, its order, its progress
def month_to_close(requested: str | None, today_month: str) -> str:
    """The month a close run covers: the one asked for, else the previous month."""
    month = requested or months.previous_month(today_month)
    if not months.is_month(month):
        raise InvalidRequest(f"month must be YYYY-MM, got {month!r}")
    if month >= today_month:
        raise InvalidRequest(f"month {month} has not ended yet (Japan time is in {today_month})")
    return month


def billable(month: str, account: dict) -> bool:
    return contract_covers(month, account["contract_start"], account.get("contract_end"))


class CloseRunStatus(StrEnum):
    RUNNING = "running"  # pages still fanning out, or issue messages in flight
    DONE = "done"  # every reserved number has its invoice
    ATTENTION = "attention"  # an account failed or is dead-lettered: retry it (or fix its contract first)


@dataclass(frozen=True)
class CloseRunProgress:
    """The run as its records hold it: pages fanned out, numbers reserved, outcomes counted."""

    month: str
    total: int  # accounts of the recorded pages: one reserved number each
    issued: int
    skipped: int
    failed: int  # outstanding failure records (a retry that issues the account removes its record)
    last_sequence: int  # the last number the close reserved so far (not its corrections'), 0 before any
    shards_done: int  # shards whose last page is recorded
    shards: int  # shards the close fans out

    @property
    def every_account_closed(self) -> bool:
        """Every account the close listed has its invoice, so each one's month is shut and frozen."""
        fanned_out = self.shards_done >= self.shards
        return fanned_out and not self.failed and self.issued + self.skipped >= self.total


def close_run_status(progress: CloseRunProgress, dead_letters: int, delivery_dead_letters: int = 0) -> CloseRunStatus:
    if progress.failed or dead_letters or delivery_dead_letters:
        return CloseRunStatus.ATTENTION
    fanned_out = progress.shards_done >= progress.shards
    if fanned_out and progress.issued + progress.skipped >= progress.total:
        return CloseRunStatus.DONE
    return CloseRunStatus.RUNNING


def close_run_view(
    progress: CloseRunProgress, dead_letters: int, undelivered: int = 0, delivery_dead_letters: int = 0
) -> dict:
    """``GET /v1/close-runs/{month}``'s answer.

    A delivery dead letter needs attention too (the retry re-drives it, and so does the delivery sweep); a
    document merely undelivered is counted but does not: it is in flight, or the sweep announces it again.
    """
    reserved = progress.last_sequence > 0
    return {
        "month": progress.month,
        "status": close_run_status(progress, dead_letters, delivery_dead_letters).value,
        "total": progress.total,
        "issued": progress.issued,
        "skipped": progress.skipped,
        "failed": progress.failed,
        "dead_letters": dead_letters,
        "first_number": invoice_number(progress.month, 1) if reserved else None,
        "last_number": invoice_number(progress.month, progress.last_sequence) if reserved else None,
        "undelivered": undelivered,
        "delivery_dead_letters": delivery_dead_letters,
    }


def check_close_order(month: str, latest: str | None, latest_run: CloseRunProgress | None) -> None:
    """Months close in order; ``CloseOutOfOrder``, naming the month to close first, otherwise.

    ``latest`` is the latest month whose close has started (None before the first close: billing begins with
    whichever month closes first), and ``latest_run`` its progress. A month may start closing when it is that
    month (a re-run), or the month after it once every account of it is closed. So an account's months shut
    one after another: its gate (the last month shut) is never ahead of a month still open, a count for an
    open month is never refused as closed, and one for a closed month is always kept as a late report.
    """
    if latest is None or month == latest:
        return
    if month < latest:
        raise CloseOutOfOrder(
            month,
            None,
            f"{latest} has been closed already, and months close in order (a month before the first"
            " close is not billed here)",
        )
    due = months.next_month(latest)
    if month != due:
        raise CloseOutOfOrder(month, due, f"{due} is still open; close {due} first (months close in order)")
    if latest_run is None or not latest_run.every_account_closed:
        progress = (
            "it has not started"
            if latest_run is None
            else f"{latest_run.issued + latest_run.skipped} of {latest_run.total} accounts issued,"
            f" {latest_run.failed} failed"
        )
        raise CloseOutOfOrder(
            month,
            latest,
            f"the close of {latest} has not finished ({progress}); finish it first (GET /v1/close-runs/{latest},"
            " and POST …/retry for what failed): months close in order",
        )


# ---------------------------------------------------------------- the fan-out: the month's accounts, a page at a time
@dataclass(frozen=True)
class AccountPage:
    """One page of one shard of the month's accounts to close: the shard's first, or where the last one stopped."""

    month: str
    shard: str
    cursor: dict | None = None
    correlation_id: str | None = None  # the run's, carried from page to page

    @property
    def page_id(self) -> str:
        """The page's name in the run's records: the same page delivered twice is recorded once."""
        digest = hashlib.sha256(json.dumps(self.cursor, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.shard}:{digest}"


@dataclass(frozen=True)
class IssueOrder:
    """One account to invoice, under the number the close reserved for it."""

    month: str
    account_id: str
    sequence: int
    correlation_id: str | None = None


@dataclass(frozen=True)
class FannedOut:
    """What one page queued: an order for each of its billable accounts, and the shard's next page if any."""

    issues: list[IssueOrder]
    next_page: AccountPage | None


class RecordedPage(Protocol):
    next_cursor: dict | None

    def numbered(self) -> list[tuple[str, int]]: ...


class AccountPages(Protocol):
    def page(self, shard: str, cursor: dict | None, limit: int) -> tuple[list[dict], dict | None]: ...


class RunRecords(Protocol):
    def start(self, month: str) -> bool: ...

    def page(self, month: str, page_id: str) -> RecordedPage | None: ...

    def record_page(
        self, month: str, page_id: str, account_ids: list[str], next_cursor: dict | None
    ) -> RecordedPage: ...


class MonthFanOut:
    """Starts a month's close run and fans its billable accounts out, one page a call.

    It decides; what it reads and writes it is given: the accounts by shard (``accounts.page``), the run's
    records (``runs``), the shards to walk, and two queues, ``queue_pages`` (each page a later call) and
    ``queue_issues`` (each order an account's invoice).
    """

    def __init__(
        self,
        accounts: AccountPages,
        runs: RunRecords,
        shards: Sequence[str],
        queue_pages: Callable[[list[AccountPage]], None],
        queue_issues: Callable[[list[IssueOrder]], None],
        page_size: int = PAGE_SIZE,
    ):
        self.accounts, self.runs, self.shards, self.page_size = accounts, runs, shards, page_size
        self.queue_pages, self.queue_issues = queue_pages, queue_issues

    def start(self, month: str, correlation_id: str) -> dict:
        """Record ``month``'s run (once: a re-run resumes it) and queue the first page of every shard.

        ``CloseOutOfOrder`` while an earlier month is open, naming it; nothing is queued then.
        """
        started = self.runs.start(month)
        pages = [AccountPage(month, shard, correlation_id=correlation_id) for shard in self.shards]
        self.queue_pages(pages)
        return {"month": month, "shards": len(pages), "started": started, "correlation_id": correlation_id}

    def fan_out(self, page: AccountPage) -> FannedOut:
        """Queue an issue order for each billable account of ``page``, then the shard's next page."""
        recorded = self.runs.page(page.month, page.page_id)
        if recorded is None:
            found, next_cursor = self.accounts.page(page.shard, page.cursor, self.page_size)
            billable_ids = [account["account_id"] for account in found if billable(page.month, account)]
            recorded = self.runs.record_page(page.month, page.page_id, billable_ids, next_cursor)
        issues = [IssueOrder(page.month, account_id, n, page.correlation_id) for account_id, n in recorded.numbered()]
        self.queue_issues(issues)
        next_page = None
        if recorded.next_cursor:
            next_page = AccountPage(page.month, page.shard, recorded.next_cursor, page.correlation_id)
            self.queue_pages([next_page])
        return FannedOut(issues, next_page)


# ---------------------------------------------------------------- one account's close
class Stores(Protocol):
    accounts: object
    usage: object
    invoices: object
    archive: object
    runs: object


@dataclass(frozen=True)
class Archived:
    """Where a document's files went, and their sha256 (kept on the record)."""

    pdf_key: str
    pdf_sha256: str
    pdf_size: int
    einvoice_key: str
    einvoice_sha256: str


def pdf_key(invoice: Invoice) -> str:
    return f"invoices/{invoice.month}/{invoice.account_id}/{invoice.invoice_number}.pdf"


def announceable(record: dict) -> bool:
    """Whether ``InvoiceIssued`` may go out (again) for this stored document: issued, and current. A replaced
    original is not: its correction is announced and delivered instead, and a customer told again of a document
    already replaced would only be confused. A ``numbered`` one is announced by ``finish`` once archived."""
    return record.get("status") == "issued"


@dataclass(frozen=True)
class Closed:
    """How one account's close ended, and the ``InvoiceIssued`` detail its caller is to publish."""

    outcome: str  # issued | failed
    announcement: dict | None = None


@dataclass
class MonthCloser:
    stores: Stores
    tariff: Tariff
    issuer: Issuer
    render: Callable[[Invoice], bytes]
    announce: Callable[[str, dict], None]

    def close_account(self, account_id: str, month: str, sequence: int, correlation_id: str | None = None) -> Closed:
        """Close one account's month as its ``sequence``-th invoice: issued (with its announcement) or failed.

        The gate is shut first: that also closes the month for changes, so the terms read with it are the
        month's final terms (a change confirmed meanwhile takes effect from the next open month).
        """
        number = invoice_number(month, sequence)
        try:
            shut = self.stores.usage.shut(account_id, month)
        except AccountNotFound:
            self.stores.runs.record_failure(month, account_id, sequence, "the account no longer exists")
            return Closed("failed")
        if not shut.shut_now and (record := self.stores.invoices.get(account_id, number)):
            if record["status"] == "numbered":  # stored by a run from before invoices were stored issued
                self.finish(record, correlation_id)
                return Closed("issued")
            if not announceable(record):  # corrected since: its correction is the one announced
                return Closed("issued")
            return Closed("issued", issued_event(Invoice.from_record(record), record, correlation_id))
        usage = self.stores.usage.freeze(account_id, month, number, shut)
        if not shut.contract.covers(month):
            # The page said billable from the same contract dates, and a cancellation only ends an open month:
            # this is a contract whose dates were edited by hand since. Its number must not be a silent hole:
            # an operator looks at it (the close run needs attention) and retries it once the contract is right.
            self.stores.usage.carry_over_now(account_id, month, usage)
            self.stores.runs.record_failure(month, account_id, sequence, f"the contract does not cover {month}")
            return Closed("failed")
        contract = shut.contract
        terms = contract.billed_terms(month)
        invoice = build_invoice(
            number, terms, usage, self.tariff, self.issuer, customer_number=contract.customer_number
        )
        archived = self.archive(invoice)
        carry_over = self.stores.usage.carry_over(account_id, month, usage)
        for suggested in (usage.correction_suggested(self.tariff), True):  # by the late reports the freeze read
            also = [*carry_over, self.stores.usage.late_flag(account_id, month, suggested)]
            if record := self.stores.invoices.store_issued(invoice, archived, also, suggested):
                return Closed("issued", issued_event(invoice, record, correlation_id))
            # refused and not stored: a late report kept since the freeze flagged the month; store it flagged
        raise RuntimeError(f"{number} was refused but is not stored")

    def archive(self, invoice: Invoice) -> Archived:
        """Render the document's PDF and e-invoice and archive each where absent (same bytes on a re-run)."""
        pdf = self.render(invoice)
        key = pdf_key(invoice)
        sha256 = self.stores.archive.store(key, pdf)
        xml = render_einvoice(invoice)  # the JP PINT e-invoice, beside the PDF, under the same Object Lock
        xml_key = einvoice_key(invoice.month, invoice.account_id, invoice.invoice_number)
        xml_sha256 = self.stores.archive.store(xml_key, xml, EINVOICE_CONTENT_TYPE)
        return Archived(key, sha256, len(pdf), xml_key, xml_sha256)

    def finish(self, record: dict, correlation_id: str | None = None) -> dict:
        """Render and archive a stored document where absent, mark it issued, announce it: each step once.

        Shared by the month's invoices, corrections and return invoices; a re-run picks up where a crash
        stopped, and the PDF is rendered from the stored record, so it is the same bytes every time.
        ``correlation_id`` (the run or request doing this) goes out with ``InvoiceIssued``.
        """
        invoice = Invoice.from_record(record)
        if record["status"] == "numbered":
            archived = self.archive(invoice)
            self.stores.invoices.mark_issued(invoice, archived)
            record = {**record, "status": "issued", "pdf_key": archived.pdf_key, "pdf_sha256": archived.pdf_sha256}
            record["einvoice_key"] = archived.einvoice_key
        if not record.get("announced"):
            self.announce(INVOICE_ISSUED, issued_event(invoice, record, correlation_id))
            self.stores.invoices.mark_announced(invoice.account_id, invoice.invoice_number)
            record = {**record, "announced": True}
        return record
