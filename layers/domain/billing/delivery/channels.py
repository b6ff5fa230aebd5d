"""How an issued invoice reaches its customer: a web statement or a letter.

The channel follows the delivery method in the invoice's own snapshot (the
profile may have changed since). Dates:

* web (WEB明細): viewable from the issue date; the billing contact gets a
  notification email that links to the statements page (never the PDF);
* postal (郵送): printed and posted on the next business day after issue,
  arriving two delivery days later. All letters for one account on one print
  day go in one envelope.

Delivery status, as the statements API shows it: ``pending`` until the
delivery step runs, then ``published`` (web) or ``batched`` (postal, waiting
for the print run), then ``posted`` once its print batch is written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from billing import bank_calendar
from billing.delivery.notices import Notice
from billing.emails import Email
from billing.invoicing.invoice import Invoice
from billing.japanese import jp_date, jp_month, yen
from billing.spreadsheet import csv_cell
from billing.vocabulary import DocumentKind

STATUSES = ("pending", "published", "batched", "posted")
MANIFEST_COLUMNS = (
    "batch_id",
    "invoice_number",
    "account_id",
    "postal_code",
    "address",
    "recipient",
    "pages",
    "envelope",
    "sheet",
)


@dataclass(frozen=True)
class DeliveryPlan:
    channel: str  # web | postal
    status: str  # the status once delivered
    available_on: date  # when the statement shows on the web
    posting_on: date | None = None  # 投函日
    estimated_arrival: date | None = None  # 到着予定日

    def as_record(self) -> dict:
        record = {"delivery_status": self.status, "available_on": self.available_on.isoformat()}
        if self.posting_on:
            record["posting_on"] = self.posting_on.isoformat()
            record["estimated_arrival"] = self.estimated_arrival.isoformat()
        return record


def plan_delivery(invoice: Invoice) -> DeliveryPlan:
    return plan_for(invoice.delivery_method, invoice.issued_on)


def plan_for(delivery_method: str, issued_on: date) -> DeliveryPlan:
    if delivery_method == "web":
        return DeliveryPlan("web", "published", issued_on)
    posting = bank_calendar.posting_date(issued_on)
    return DeliveryPlan("postal", "batched", issued_on, posting, bank_calendar.estimated_arrival(posting))


@dataclass(frozen=True)
class StatementNotice:
    """What a web-statement notice says: taken from the invoice, or from the InvoiceIssued event that carries it."""

    invoice_number: str
    month: str
    kind: DocumentKind
    total: int
    payment_method: str
    due_on: date | None
    debit_on: date | None
    replaces: str | None
    recipient_line: str
    email: str
    issuer_name: str

    @classmethod
    def of(cls, invoice: Invoice) -> StatementNotice:
        return cls(
            invoice_number=invoice.invoice_number,
            month=invoice.month,
            kind=invoice.kind,
            total=invoice.total,
            payment_method=invoice.payment_method,
            due_on=invoice.due_on,
            debit_on=invoice.debit_on,
            replaces=invoice.replaces,
            recipient_line=invoice.recipient_line,
            email=invoice.recipient.email,
            issuer_name=invoice.issuer.name,
        )


NOTICE_TITLES = {
    DocumentKind.INVOICE: "請求書",
    DocumentKind.CORRECTION: "訂正後の請求書",
    DocumentKind.CREDIT_NOTE: "返還請求書（適格返還請求書）",
}


def statement_notification(document: Invoice | StatementNotice, statements_url: str) -> Email:
    """The web-statement notice (Japanese). It links to the page; it never attaches the PDF."""
    invoice = document if isinstance(document, StatementNotice) else StatementNotice.of(document)
    title = NOTICE_TITLES[invoice.kind]
    number_label = "返還請求書番号" if invoice.kind == DocumentKind.CREDIT_NOTE else "請求書番号"
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        amount = [f"ご返還金額: {yen(invoice.total)} (税込)", f"対象の請求書: {invoice.replaces}"]
    else:
        amount = [
            f"ご請求金額: {yen(invoice.total)} (税込)",
            f"お振込期限: {jp_date(invoice.due_on)}"
            if invoice.payment_method == "bank_transfer"
            else f"口座振替日: {jp_date(invoice.debit_on)}",
        ]
        if invoice.kind == DocumentKind.CORRECTION:
            amount.append(f"この請求書は {invoice.replaces} に代わるものです。")
    body = "\n".join(
        [
            invoice.recipient_line,
            "",
            f"{invoice.issuer_name}です。いつもご利用いただきありがとうございます。",
            f"{jp_month(invoice.month)}ご利用分の{title}をWEB明細に掲載しました。",
            "",
            f"{number_label}: {invoice.invoice_number}",
            *amount,
            "",
            "明細と書類のPDFは次のページでご確認いただけます。",
            statements_url,
            "",
            "このメールは送信専用です。請求書PDFをメールでお送りすることはできません。",
        ]
    )
    subject = f"【{invoice.issuer_name}】{jp_month(invoice.month)}分 WEB明細のお知らせ"
    return Email(invoice.email, subject, body)


@dataclass(frozen=True)
class Letter:
    invoice: Invoice | Notice  # what the letter holds: an invoice, or a notice (a transfer request)
    envelope: int  # 1-based within the batch; one per account
    pages: int
    sheet: int = 1  # where the letter starts in the batch's PDF, 1-based


def pack_letters(batch_invoices: list[Invoice | Notice], pages_per_invoice: int = 1) -> list[Letter]:
    """Order a print batch's invoices, put each account's letters in one envelope and number the sheets."""
    ordered = sorted(batch_invoices, key=lambda i: (i.account_id, i.invoice_number))
    envelopes: dict[str, int] = {}
    for invoice in ordered:
        envelopes.setdefault(invoice.account_id, len(envelopes) + 1)
    return [
        Letter(invoice, envelopes[invoice.account_id], pages_per_invoice, 1 + i * pages_per_invoice)
        for i, invoice in enumerate(ordered)
    ]


def manifest_csv(batch_id: str, letters: list[Letter]) -> bytes:
    """The mail house's manifest: one row per invoice, UTF-8 with BOM so Excel reads Japanese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for letter in letters:
        contact = letter.invoice.recipient
        cells = [
            batch_id,
            letter.invoice.invoice_number,
            letter.invoice.account_id,
            contact.postal_code,
            contact.address,
            letter.invoice.recipient_line,
            letter.pages,
            letter.envelope,
            letter.sheet,
        ]
        writer.writerow([csv_cell(cell) for cell in cells])  # customer text never runs as a formula
    return ("\ufeff" + out.getvalue()).encode("utf-8")
