"""A debit date's run, from the schedule (or an operator) to the bank's request file, and the bank's results back.

**Start.** A run collects one debit date, a bank business day. Starting it twice gives the same run: the
first start records it and queues one page of every account shard; a later start re-queues the pages of a
run still planning (a page is idempotent), so a crash between the record and the queue heals on the next try.

**A page** (one call of ``DebitRunFanOut.plan_page``): one page of the documents due that day, from one shard
of the accounts, read from the due-date index with their payment state. Each direct-debit account on it is
planned (``billing.payments.debit_run.plan``) and held in one write: its part of the run, and its documents
marked ``collecting`` on condition their state is still what the plan read. A page delivered twice finds the
parts already there. An account without a usable mandate gets its documents asked for by transfer instead.
The shard's next page is queued; the last page of the last shard writes the file.

**The file**: every part's record, in customer-number order, as a Zengin 91 request (byte-identical on every
run), archived once under ``debit-runs/<date>/request.txt``; the run is then ``requested``.

**Results** (``DebitRunFanOut.import_results``): the bank's file is checked whole against the run before
anything changes; the run then records the file's sha256 and its summary once (the same file again answers
the same, another is refused), and queues one order per account. Each order is applied on its own, and each
application is idempotent: a payment has a fixed id, a failure conditions on the documents still collecting.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from billing.bank_calendar import business_days_after, is_business_day
from billing.contracts.accounts import BillingContact
from billing.contracts.payment_details import DebitAccount
from billing.errors import DebitRunNotRequested, InvalidBankFile, InvalidRequest, NotFound, ResultsAlreadyImported
from billing.invoicing.issuer import Collector
from billing.payments.debit_file import DebitRecord, DebitResult, Outcome, read_results, request_file
from billing.payments.debit_run import AccountDebit, Debtor, Held, SkipReason, plan
from billing.payments.ledger import Payment, Receivable
from billing.zengin.records import BankFileError

TRANSFER_DEADLINE_BUSINESS_DAYS = 10  # after a failed debit, the customer has this long to transfer


class RunStatus(StrEnum):
    PLANNING = "planning"  # the fan-out is reading the date's documents
    REQUESTED = "requested"  # the request file is archived; the bank's results are awaited
    SETTLED = "settled"  # the results are imported


@dataclass(frozen=True)
class ResultSummary:
    paid: int
    failed: int
    by_code: dict[str, int]
    amount_paid: int
    sha256: str

    @classmethod
    def of(cls, results: Sequence[DebitResult], sha256: str) -> ResultSummary:
        paid = [r for r in results if r.outcome is Outcome.PAID]
        failed = [r for r in results if r.outcome in (Outcome.FAILED, Outcome.MANDATE_REJECTED)]
        return cls(
            paid=len(paid),
            failed=len(failed),
            by_code=dict(sorted(Counter(r.code for r in results).items())),
            amount_paid=sum(r.record.amount for r in paid),
            sha256=sha256,
        )

    def as_json(self) -> dict:
        return {"paid": self.paid, "failed": self.failed, "by_code": self.by_code, "amount_paid": self.amount_paid}


@dataclass(frozen=True)
class DebitRun:
    debit_date: date
    status: RunStatus
    shards_done: int = 0
    records: int = 0
    total: int = 0
    file_key: str | None = None
    sha256: str | None = None
    results: ResultSummary | None = None
    skipped: tuple[tuple[str, str], ...] = ()  # (account, reason) of each account not debited, by account


@dataclass(frozen=True)
class Part:
    """One account's part of a run, as stored and as its result is applied: the documents it holds (with what
    each owed), what it debits or why it was skipped, and whom to ask for a transfer. Everything a result needs
    is here, so applying one reads nothing."""

    account_id: str
    owed: tuple[Held, ...]
    record: DebitRecord | None = None
    skipped: SkipReason | None = None
    customer_number: str = ""
    delivery_method: str = "web"
    contact: BillingContact | None = None  # whom to ask for a transfer: by email, or a letter for a postal account

    @property
    def documents(self) -> tuple[str, ...]:
        return tuple(h.number for h in self.owed)

    @property
    def email(self) -> str:
        return self.contact.email if self.contact else ""

    @property
    def recipient_line(self) -> str:
        return self.contact.recipient if self.contact else ""

    @classmethod
    def of(cls, planned: AccountDebit, debtor: Debtor) -> Part:
        return cls(
            planned.account_id,
            planned.owed,
            planned.record,
            planned.skipped,
            debtor.customer_number,
            debtor.delivery_method,
            debtor.contact,
        )

    def as_json(self) -> dict:
        """As the table and the result queue carry it (the debit account whole: neither is shown to anyone)."""
        body = {
            "account_id": self.account_id,
            "owed": [[h.number, h.amount_due, h.paid_amount] for h in self.owed],
            "customer_number": self.customer_number,
            "delivery_method": self.delivery_method,
        }
        if self.contact is not None:
            body["contact"] = asdict(self.contact)
        if self.record is not None:
            body |= {
                "debit_account": self.record.account.as_json(),
                "amount": self.record.amount,
                "first_debit": self.record.first_debit,
            }
        if self.skipped is not None:
            body["skipped"] = self.skipped.value
        return body

    @classmethod
    def from_json(cls, body: dict) -> Part:
        owed = tuple(Held(number, int(due), int(paid)) for number, due, paid in body["owed"])
        record = None
        if "amount" in body:
            record = DebitRecord(
                account_id=body["account_id"],
                customer_number=body["customer_number"],
                account=DebitAccount.from_json(body["debit_account"]),
                amount=int(body["amount"]),
                first_debit=bool(body["first_debit"]),
                documents=tuple(h.number for h in owed),
            )
        skipped = SkipReason(body["skipped"]) if body.get("skipped") else None
        return cls(
            body["account_id"],
            owed,
            record,
            skipped,
            body.get("customer_number", ""),
            body.get("delivery_method", "web"),
            BillingContact(**body["contact"]) if body.get("contact") else None,
        )


@dataclass(frozen=True)
class DueDocument:
    """A document due on the run's date, as the due-date index holds it."""

    account_id: str
    month: str
    payment_method: str
    counts: bool  # issued (or replaced): a numbered document not yet issued is not collected
    receivable: Receivable


@dataclass(frozen=True)
class RunPage:
    debit_date: date
    shard: str
    cursor: dict | None = None


@dataclass(frozen=True)
class ResultOrder:
    """What the bank said of one account's debit, with the account's part: applied on its own, reading nothing."""

    debit_date: date
    code: str
    imported_on: date
    part: Part

    @property
    def account_id(self) -> str:
        return self.part.account_id

    @property
    def outcome(self) -> Outcome:
        return Outcome.of(self.code)

    @property
    def pay_by(self) -> date:
        """The transfer deadline a failed debit gives the customer."""
        return business_days_after(self.imported_on, TRANSFER_DEADLINE_BUSINESS_DAYS)


@dataclass(frozen=True)
class TransferAsk:
    """A part's documents to ask for by transfer: why, the debit date they missed, the new deadline."""

    part: Part
    why: str  # a payment_notices.WhyTransfer value
    debit_date: date
    pay_by: date


class DebitRunStore(Protocol):
    def start(self, debit_date: date) -> tuple[DebitRun, bool]: ...
    def get(self, debit_date: date) -> DebitRun | None: ...
    def due_page(self, page: RunPage) -> tuple[list[DueDocument], dict | None]: ...
    def debtors(self, account_ids: Sequence[str], debit_date: date) -> dict[str, Debtor]: ...
    def hold(
        self, debit_date: date, part: Part, planned: AccountDebit, due: Sequence[Receivable], pay_by: date
    ) -> bool: ...
    def shard_done(self, debit_date: date, shard: str) -> int: ...
    def parts(self, debit_date: date) -> list[Part]: ...
    def requested(self, debit_date: date, file_key: str, sha256: str, records: int, total: int) -> None: ...
    def settle(self, debit_date: date, summary: ResultSummary) -> ResultSummary: ...
    def release(self, account_id: str, documents: Sequence[str]) -> None: ...
    def fail(self, account_id: str, documents: Sequence[str], pay_by: date, mandate_rejected: bool) -> list[str]: ...


class Ledger(Protocol):
    def pay_held(
        self, account_id: str, payment: Payment, held: Sequence[Held], activate_mandate: bool
    ) -> list[str]: ...


class Archive(Protocol):
    def store(self, key: str, body: bytes, content_type: str = ...) -> str: ...


def request_key(debit_date: date) -> str:
    return f"debit-runs/{debit_date.isoformat()}/request.txt"


def check_debit_date(debit_date: date) -> None:
    if not is_business_day(debit_date):
        raise InvalidRequest(f"debit_date: {debit_date.isoformat()} is not a bank business day")


@dataclass
class DebitRunFanOut:
    """The run's decisions, on stores and queues passed in (this module never imports boto3)."""

    runs: DebitRunStore
    ledger: Ledger
    archive: Archive
    collector: Callable[[], Collector]
    shards: Sequence[str]
    queue_pages: Callable[[list[RunPage]], None]
    queue_results: Callable[[list[ResultOrder]], None]
    ask_transfer: Callable[[TransferAsk], None]
    announce_paid: Callable[[str, list[str], date], None]
    announce_failed: Callable[[ResultOrder, Part], None]
    today: Callable[[], date]

    # ------------------------------------------------------------ the run
    def start(self, debit_date: date) -> tuple[DebitRun, bool]:
        """The date's run, and whether this call made it; its pages are queued while it plans."""
        check_debit_date(debit_date)
        run, created = self.runs.start(debit_date)
        if run.status is RunStatus.PLANNING:
            self.queue_pages([RunPage(debit_date, shard) for shard in self.shards])
        return run, created

    def plan_page(self, page: RunPage) -> None:
        documents, cursor = self.runs.due_page(page)
        by_account: dict[str, list[DueDocument]] = defaultdict(list)
        for document in documents:
            if document.payment_method == "direct_debit" and document.counts:
                by_account[document.account_id].append(document)
        debtors = self.runs.debtors(sorted(by_account), page.debit_date) if by_account else {}
        transfer_by = business_days_after(self.today(), TRANSFER_DEADLINE_BUSINESS_DAYS)
        for account_id, due in sorted(by_account.items()):
            debtor = debtors.get(account_id)
            if debtor is None:  # no profile: nothing to debit it from, and no one to ask
                continue
            receivables = [d.receivable for d in due]
            planned = plan(debtor, receivables, page.debit_date)
            if planned is None:
                continue
            part = Part.of(planned, debtor)
            if self.runs.hold(page.debit_date, part, planned, receivables, transfer_by) and part.skipped:
                self.ask_transfer(TransferAsk(part, part.skipped.value, page.debit_date, transfer_by))
        if cursor:
            self.queue_pages([RunPage(page.debit_date, page.shard, cursor)])
        elif self.runs.shard_done(page.debit_date, page.shard) >= len(self.shards):
            self.write_file(page.debit_date)

    def write_file(self, debit_date: date) -> DebitRun:
        """Archive the run's request file (once; a re-run makes the same bytes) and mark the run requested."""
        run = self.runs.get(debit_date)
        if run is None or run.status is not RunStatus.PLANNING:
            return run
        records = [part.record for part in self.runs.parts(debit_date) if part.record is not None]
        body = request_file(self.collector(), debit_date, records)
        key = request_key(debit_date)
        sha256 = self.archive.store(key, body, "text/plain; charset=Shift_JIS")
        total = sum(record.amount for record in records)
        self.runs.requested(debit_date, key, sha256, len(records), total)
        return self.runs.get(debit_date)

    # ------------------------------------------------------------ the results
    def import_results(self, debit_date: date, body: bytes) -> ResultSummary:
        """Check the bank's file whole, record it once, and queue each account's result."""
        run = self.runs.get(debit_date)
        if run is None:
            raise NotFound(f"no debit run for {debit_date.isoformat()}")
        if run.status is RunStatus.PLANNING:
            raise DebitRunNotRequested(debit_date.isoformat())
        parts = {p.record.customer_number: p for p in self.runs.parts(debit_date) if p.record is not None}
        sha256 = hashlib.sha256(body).hexdigest()
        if run.results is not None and run.results.sha256 != sha256:
            raise ResultsAlreadyImported(debit_date.isoformat())
        try:
            results = read_results(body, self.collector(), debit_date, [p.record for p in parts.values()])
        except BankFileError as fault:
            raise InvalidBankFile(fault.record, fault.field, fault.reason) from None
        summary = self.runs.settle(debit_date, ResultSummary.of(results, sha256))
        if summary.sha256 != sha256:  # another file won the race
            raise ResultsAlreadyImported(debit_date.isoformat())
        imported_on = self.today()
        # queued again on every import of the same file: each order is idempotent, so a crash before the queue heals
        by_account = {p.account_id: p for p in parts.values()}
        self.queue_results(
            [ResultOrder(debit_date, r.code, imported_on, by_account[r.record.account_id]) for r in results]
        )
        return summary

    def apply_result(self, order: ResultOrder) -> None:
        part, outcome = order.part, order.outcome
        if outcome is Outcome.PAID:
            record = part.record
            payment_id = f"debit-{order.debit_date.isoformat()}-{record.customer_number}"
            payment = Payment(payment_id, order.debit_date, record.amount, "direct_debit")
            paid = self.ledger.pay_held(part.account_id, payment, part.owed, activate_mandate=record.first_debit)
            if paid:
                self.announce_paid(part.account_id, paid, order.debit_date)
        elif outcome is Outcome.NOT_DEBITED:
            self.runs.release(part.account_id, part.documents)
        else:
            rejected = outcome is Outcome.MANDATE_REJECTED
            failed = self.runs.fail(part.account_id, part.documents, order.pay_by, rejected)
            if failed:
                self.announce_failed(order, part)
                why = "mandate_rejected" if rejected else "debit_failed"
                self.ask_transfer(TransferAsk(part, why, order.debit_date, order.pay_by))
