"""Closing a month for one account: freeze, number, render, archive, announce.

The steps are ordered so that a crash between any two of them is repaired by
simply running again (SQS redelivers the message):

1. freeze the usage (idempotent; later counts get 409);
2. store the invoice under the number the close reserved for the account
   when it fanned its page out (``billing.dal.close_runs``), once: the
   content is fixed at that moment, with the billing contact as it stood,
   and a re-run gets the stored invoice back, never a rebuilt one;
3. render the PDF and the JP PINT e-invoice (XML) from the stored invoice
   (deterministic: same bytes) and archive each where absent;
4. mark it issued (once; counts it in the close run);
5. announce ``InvoiceIssued`` until the record says it was announced
   (consumers are idempotent, so a repeat after a crash is harmless).

The stores are passed in: this module never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from billing import months
from billing.contracts.accounts import contract_covers
from billing.errors import AccountNotFound, InvalidRequest
from billing.invoicing.einvoice import CONTENT_TYPE as EINVOICE_CONTENT_TYPE
from billing.invoicing.einvoice import einvoice_key, render_einvoice
from billing.invoicing.invoice import Invoice, build_invoice
from billing.invoicing.issuer import Issuer
from billing.invoicing.numbers import invoice_number
from billing.invoicing.tariff import Tariff
from billing.schema.messages import InvoiceIssuedDetail

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


def issued_event(invoice: Invoice, record: dict, correlation_id: str | None = None) -> dict:
    return InvoiceIssuedDetail(
        invoice_number=invoice.invoice_number,
        account_id=invoice.account_id,
        month=invoice.month,
        issued_on=invoice.issued_on.isoformat(),
        payment_method=invoice.payment_method,
        delivery_method=invoice.delivery_method,
        due_on=record.get("due_on"),
        debit_on=record.get("debit_on"),
        total=invoice.total,
        tax=invoice.tax,
        kind=invoice.kind,
        replaces=invoice.replaces,
        pdf_key=record["pdf_key"],
        pdf_sha256=record["pdf_sha256"],
        correlation_id=correlation_id,
    ).body()


@dataclass
class MonthCloser:
    stores: Stores
    tariff: Tariff
    issuer: Issuer
    render: Callable[[Invoice], bytes]
    announce: Callable[[str, dict], None]

    def close_account(self, account_id: str, month: str, sequence: int, correlation_id: str | None = None) -> str:
        """Close one account's month as its ``sequence``-th invoice; the outcome: issued or failed.

        The usage is frozen first: that also closes the month for changes, so the terms read next are the
        month's final terms (a change confirmed meanwhile takes effect from the next open month).
        """
        number = invoice_number(month, sequence)
        try:
            usage, _ = self.stores.usage.freeze(account_id, month, number)
            contract = self.stores.accounts.get(account_id)
        except AccountNotFound:
            self.stores.runs.record_failure(month, account_id, sequence, "the account no longer exists")
            return "failed"
        if not contract.covers(month):
            # The page said billable from the same contract dates, and a cancellation only ends an open month:
            # this is a contract whose dates were edited by hand since. Its number must not be a silent hole:
            # an operator looks at it (the close run needs attention) and retries it once the contract is right.
            self.stores.runs.record_failure(month, account_id, sequence, f"the contract does not cover {month}")
            return "failed"
        profile = contract.terms_for(month)
        record = self.stores.invoices.create(build_invoice(number, profile, usage, self.tariff, self.issuer))
        self.finish(record, correlation_id)
        return "issued"

    def finish(self, record: dict, correlation_id: str | None = None) -> dict:
        """Render and archive a stored document where absent, mark it issued, announce it: each step once.

        Shared by the month's invoices, corrections and return invoices; a re-run picks up where a crash
        stopped, and the PDF is rendered from the stored record, so it is the same bytes every time.
        ``correlation_id`` (the run or request doing this) goes out with ``InvoiceIssued``.
        """
        invoice = Invoice.from_record(record)
        if record["status"] == "numbered":
            pdf = self.render(invoice)
            key = pdf_key(invoice)
            sha256 = self.stores.archive.store(key, pdf)
            xml = render_einvoice(invoice)  # the JP PINT e-invoice, beside the PDF, under the same Object Lock
            xml_key = einvoice_key(invoice.month, invoice.account_id, invoice.invoice_number)
            xml_sha256 = self.stores.archive.store(xml_key, xml, EINVOICE_CONTENT_TYPE)
            self.stores.invoices.mark_issued(invoice, Archived(key, sha256, len(pdf), xml_key, xml_sha256))
            record = {**record, "status": "issued", "pdf_key": key, "pdf_sha256": sha256, "einvoice_key": xml_key}
        if not record.get("announced"):
            self.announce(INVOICE_ISSUED, issued_event(invoice, record, correlation_id))
            self.stores.invoices.mark_announced(invoice.account_id, invoice.invoice_number)
            record = {**record, "announced": True}
        return record
