"""Bank transfers (振込) from the bank's own files to the ledger: import, match (消込), allocate, take back.

**Import** (``BankCreditImport.start``). The file is read whole first (``read_bank_file``): any fault is
``InvalidBankFile`` and nothing changes. It is archived under ``bank-statements/<sha256>.txt`` and recorded once
by its sha256; its credits go to the import queue in pages of ``PAGE_SIZE``, so no invocation grows with the
file. The same file sent again (even at the same moment) finds its record: it imports nothing and answers every
record a duplicate, and it queues the pages of an import a crash left unfinished (a page is idempotent).

**A page** (``import_page``): the customer numbers and payer names of its credits are looked up by key, in one
read; each credit is matched (``billing.payments.bank_statements.match``) and recorded once by its payment id:
matched, in one transaction with its allocation to the account's open documents (oldest ``pay_by`` first, the
rest as credit balance); unmatched, alone, for an operator. Cancellations (取消区分 1) wait until every credit
page of their file is done, then each undoes the payment it names in one transaction.

**An operator** gives an unmatched payment to an account (``allocate``: allocated as above, and its payer's
name learned for the account) or takes an allocation back (``take_back``: the documents' balances return and
the payment waits again; nothing learned is forgotten).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from billing.errors import InvalidBankFile
from billing.payments.bank_statements import Credit, ReceivingAccount, customer_number_of, match, read_bank_file
from billing.payments.ledger import Allocation
from billing.zengin.records import BankFileError

PAGE_SIZE = 100  # credits per page: its lookups fit two BatchGetItem calls, its message well under 256 KB


class CreditStatus(StrEnum):
    UNMATCHED = "unmatched"  # waiting for an operator
    MATCHED = "matched"  # allocated to an account
    CANCELLED = "cancelled"  # the bank cancelled it (取消区分 1); its allocation was undone


class Cancelled(StrEnum):
    """What a cancellation record did."""

    DONE = "done"  # it undid its payment (now, or on an earlier try of the same file)
    DUPLICATE = "duplicate"  # the same cancellation, from another file, undid it before
    NOT_FOUND = "not_found"  # no payment it names was imported
    BLOCKED = "blocked"  # its payment cannot be undone whole: logged, for an operator


class MatchedBy(StrEnum):
    CUSTOMER_NUMBER = "customer_number"
    PAYER_NAME = "payer_name"
    OPERATOR = "operator"


@dataclass(frozen=True)
class StoredCredit:
    """A payment from a bank file, as recorded: the credit, what became of it, and the file that brought it."""

    credit: Credit
    status: CreditStatus
    file: str  # the sha256 of the file that imported it
    account_id: str | None = None
    allocations: tuple[Allocation, ...] = ()
    credited: int = 0  # what went to the account's credit balance
    matched_by: MatchedBy | None = None
    settled: tuple[str, ...] = ()  # the documents it paid off
    cancelled_by: str | None = None  # the cancellation's own identity, once cancelled
    cancelled_in: str | None = None  # the sha256 of the file that brought the cancellation

    @property
    def payment_id(self) -> str:
        return self.credit.payment_id

    def as_json(self) -> dict:
        """As ``GET /v1/payments`` lists it."""
        return {
            "payment_id": self.payment_id,
            "received_on": self.credit.booked_on.isoformat(),
            "amount": self.credit.amount,
            "payer_name": self.credit.payer_name,
            "payer_code": self.credit.payer_code,
            "status": self.status.value,
            "account_id": self.account_id,
            "allocations": [{"invoice_number": a.number, "amount": a.amount} for a in self.allocations],
        }


@dataclass(frozen=True)
class ImportSummary:
    imported: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    cancelled: int = 0
    amount: int = 0  # yen of the payments imported

    def __add__(self, other: ImportSummary) -> ImportSummary:
        return ImportSummary(**{name: getattr(self, name) + getattr(other, name) for name in self.as_json()})

    def as_json(self) -> dict:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "cancelled": self.cancelled,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class BankFile:
    """An imported file: how many pages it was sent in, which are done, and their summary so far."""

    sha256: str
    records: int
    pages: int
    pages_done: frozenset[int] = frozenset()
    summary: ImportSummary = field(default_factory=ImportSummary)

    @property
    def complete(self) -> bool:
        return len(self.pages_done) >= self.pages

    def as_duplicate(self) -> ImportSummary:
        """What sending this file again imports: nothing; every record is a duplicate."""
        return ImportSummary(duplicates=self.records)


@dataclass(frozen=True)
class CreditPage:
    """One page of a file's records, in file order."""

    sha256: str
    page: int
    credits: tuple[Credit, ...]

    def as_json(self) -> dict:
        return {"sha256": self.sha256, "page": self.page, "credits": [credit_json(c) for c in self.credits]}

    @classmethod
    def from_json(cls, body: dict) -> CreditPage:
        return cls(body["sha256"], body["page"], tuple(credit_from_json(c) for c in body["credits"]))


def credit_json(credit: Credit) -> dict:
    account = credit.account
    return {
        "account": [account.bank_code, account.branch_code, account.account_type, account.account_number],
        "inquiry_number": credit.inquiry_number,
        "booked_on": credit.booked_on.isoformat(),
        "amount": credit.amount,
        "payer_code": credit.payer_code,
        "payer_name": credit.payer_name,
        "cancelled": credit.cancelled,
        "record": credit.record,
    }


def credit_from_json(body: dict) -> Credit:
    return Credit(
        account=ReceivingAccount(*body["account"]),
        inquiry_number=body["inquiry_number"],
        booked_on=date.fromisoformat(body["booked_on"]),
        amount=body["amount"],
        payer_code=body["payer_code"],
        payer_name=body["payer_name"],
        cancelled=body["cancelled"],
        record=body["record"],
    )


def pages_of(sha256: str, credits: Sequence[Credit]) -> list[CreditPage]:
    """The file's records in pages of about ``PAGE_SIZE``, in file order; a cancellation goes on the page of the
    credit it undoes when that credit is in the same file, so each page is complete on its own."""
    pages: list[list[Credit]] = []
    page_of: dict[tuple, int] = {}  # a credit's cancellation key: the page holding it
    for credit in credits:
        if credit.cancelled and credit.cancels in page_of:
            pages[page_of[credit.cancels]].append(credit)
            continue
        if not pages or len(pages[-1]) >= PAGE_SIZE:
            pages.append([])
        pages[-1].append(credit)
        if not credit.cancelled:
            page_of[credit.cancels] = len(pages) - 1
    return [CreditPage(sha256, number, tuple(page)) for number, page in enumerate(pages)]


@dataclass(frozen=True)
class Recorded:
    """What recording one credit found: whether this file imported it (now, or on an earlier try of the same
    page) or another file had, and its stored state either way."""

    by_this_file: bool
    stored: StoredCredit

    def summary(self) -> ImportSummary:
        if not self.by_this_file:
            return ImportSummary(duplicates=1)
        matched = self.stored.status is CreditStatus.MATCHED
        return ImportSummary(
            imported=1, matched=int(matched), unmatched=int(not matched), amount=self.stored.credit.amount
        )


class Owners(Protocol):
    def account_of(self, customer_number: str) -> str | None: ...
    def accounts_named(self, key: str) -> Iterable[str]: ...


class CreditStore(Protocol):
    def start_file(self, file: BankFile, archive_key: str) -> tuple[BankFile, bool]: ...
    def page_done(self, sha256: str, page: int, summary: ImportSummary) -> BankFile: ...
    def owners(self, credits: Sequence[Credit]) -> Owners: ...
    def record(self, credit: Credit, file: str, account_id: str | None, matched_by: MatchedBy | None) -> Recorded: ...
    def cancel(self, cancellation: Credit, file: str) -> Cancelled: ...


class Archive(Protocol):
    def store(self, key: str, body: bytes, content_type: str = ...) -> str: ...


def archive_key(sha256: str) -> str:
    return f"bank-statements/{sha256}.txt"


def how_matched(credit: Credit) -> MatchedBy:
    return MatchedBy.CUSTOMER_NUMBER if customer_number_of(credit) is not None else MatchedBy.PAYER_NAME


class BankCreditImport:
    def __init__(
        self,
        store: CreditStore,
        archive: Archive,
        queue_pages: Callable[[list[CreditPage]], None],
        announce_paid: Callable[[list[StoredCredit]], None],
    ):
        self.store, self.archive = store, archive
        self.queue_pages, self.announce_paid = queue_pages, announce_paid

    def start(self, body: bytes) -> tuple[BankFile, bool]:
        """Check the file whole, archive it, record it once and queue its pages: (the file, recorded now).

        A file recorded before is not imported again; the pages of an import a crash left unfinished are queued
        again (a page is idempotent)."""
        try:
            credits = read_bank_file(body)
        except BankFileError as error:
            raise InvalidBankFile(error.record, error.field, error.reason) from None
        sha256 = hashlib.sha256(body).hexdigest()
        pages = pages_of(sha256, credits)
        self.archive.store(archive_key(sha256), body, "text/plain")
        file, new = self.store.start_file(BankFile(sha256, len(credits), len(pages)), archive_key(sha256))
        self.queue_pages([page for page in pages if page.page not in file.pages_done])
        return file, new

    def import_page(self, page: CreditPage) -> BankFile:
        """Record (and allocate) a page's credits and apply its cancellations, in file order; then count the
        page, once."""
        owners = self.store.owners([c for c in page.credits if not c.cancelled])
        summary, paid = ImportSummary(), []
        for credit in page.credits:
            if credit.cancelled:
                outcome = self.store.cancel(credit, page.sha256)
                summary += ImportSummary(
                    cancelled=int(outcome is Cancelled.DONE), duplicates=int(outcome is Cancelled.DUPLICATE)
                )
                continue
            account_id = match(credit, owners.account_of, owners.accounts_named)
            recorded = self.store.record(credit, page.sha256, account_id, how_matched(credit) if account_id else None)
            summary += recorded.summary()
            if recorded.by_this_file and recorded.stored.settled:
                paid.append(recorded.stored)
        if paid:
            self.announce_paid(paid)  # the page's, together; again on a page's retry: events are at least once
        return self.store.page_done(page.sha256, page.page, summary)
