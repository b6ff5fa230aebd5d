"""Closing a month for one account: shut, freeze, render, archive, store, announce.

The steps are ordered so that a crash between any two of them is repaired by
simply running again (SQS redelivers the message):

1. shut the account's gate for the month (later counts get 409, and its
   terms can no longer change), reading the profile with the same write;
2. freeze the usage (idempotent: the first frozen values stay). The invoice
   is now a pure function of what is frozen, the month's terms, the tariff
   and the issuer, under the number the close reserved for the account when
   it fanned its page out (``billing.dal.close_runs``);
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
``finish`` (render, archive, mark issued, announce, each once). The stores
are passed in: this module never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from billing import months
from billing.contracts.accounts import contract_covers
from billing.errors import AccountNotFound, InvalidRequest
from billing.invoicing.announcements import issued_event
from billing.invoicing.einvoice import CONTENT_TYPE as EINVOICE_CONTENT_TYPE
from billing.invoicing.einvoice import einvoice_key, render_einvoice
from billing.invoicing.invoice import Invoice, build_invoice
from billing.invoicing.issuer import Issuer
from billing.invoicing.numbers import invoice_number
from billing.tariff import Tariff

INVOICE_ISSUED = "InvoiceIssued"


class Stores(Protocol):
    accounts: object
    usage: object
    invoices: object
    archive: object
    runs: object


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
        invoice = build_invoice(number, shut.contract.terms_for(month), usage, self.tariff, self.issuer)
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
