"""What the official rules cannot check: that an e-invoice says what its invoice says.

Whether a document is valid JP PINT is decided by OpenPeppol's PINT JP 1.1.3 Schematron, which the tests run
over every kind of document (``tests/pint_jp.py``; docs/einvoice.md). Those rules see one XML document alone, so
they cannot know:

* ``same-figures``: that the XML carries the figures of the invoice it was made from, the record its PDF is
  drawn from: number, issue date, due date, period, currency, lines, each rate's taxable amount and tax, the
  totals, the issuer's registration number, the recipient as issued (name and 法人番号), the document it corrects
  or returns against (number and issue date), payment means, and the notes (最終請求, the reason of a correction
  or a return). A return invoice's amounts are the invoice's negated.
* ``check-digit``: that the issuer's registration number (T + 13 digits) and every 法人番号 (scheme 0188) have a
  right check digit; the rules check only their shape.
* ``whole-yen``: that every amount is JPY in whole yen; PINT JP forbids decimals in tax amounts only.

``check_against_invoice(xml, invoice)`` lists what disagrees (empty when nothing does). Standard library only.
These ids are the project's own: none borrows a Peppol rule id. Tests and the ``render_einvoice`` benchmark run
them; nothing in the deployed code does (the XML is rendered from the invoice itself), so they live here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from billing.invoicing.invoice import Invoice
from billing.invoicing.issuer import is_corporate_number, is_registration_number
from billing.vocabulary import DocumentKind

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CORPORATE_NUMBER_SCHEME = "0188"
PAYMENT_MEANS = {"bank_transfer": "30", "direct_debit": "49"}  # UNCL 4461, as document.PaymentMeans

CHECKS = {
    "same-figures": "The XML's figures, parties, references, payment and notes are the invoice's.",
    "check-digit": "The registration number and every 法人番号 (scheme 0188) have a right check digit.",
    "whole-yen": "Every amount is JPY in whole yen.",
}

_WHOLE_YEN = re.compile(r"^-?(0|[1-9][0-9]*)\Z")
_BUYER = "cac:AccountingCustomerParty/cac:Party"
_SUPPLIER = "cac:AccountingSupplierParty/cac:Party"


@dataclass(frozen=True)
class Finding:
    check: str  # a key of CHECKS
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {CHECKS[self.check]} ({self.detail})"


def read_figures(xml: bytes) -> dict:
    """What a receiving system reads off the XML, in the terms ``expected_figures`` gives an invoice's."""
    root = ET.fromstring(xml)

    def text(path: str, node: ET.Element = root) -> str | None:
        found = node.find(path, NS)
        return None if found is None else (found.text or "")

    def texts(path: str) -> list[str]:
        return [element.text or "" for element in root.findall(path, NS)]

    return {
        "number": text("cbc:ID"),
        "issued_on": text("cbc:IssueDate"),
        "due_on": text("cbc:DueDate"),
        "period": (text("cac:InvoicePeriod/cbc:StartDate"), text("cac:InvoicePeriod/cbc:EndDate")),
        "currency": text("cbc:DocumentCurrencyCode"),
        "lines": [
            (
                text("cac:Item/cac:SellersItemIdentification/cbc:ID", line),
                _integer(text("cbc:LineExtensionAmount", line)),
                _integer(text("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", line)),
            )
            for line in root.findall("cac:InvoiceLine", NS)
        ],
        "rates": [
            (
                _integer(text("cac:TaxCategory/cbc:Percent", sub)),
                _integer(text("cbc:TaxableAmount", sub)),
                _integer(text("cbc:TaxAmount", sub)),
            )
            for sub in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
        ],
        "tax": _integer(text("cac:TaxTotal/cbc:TaxAmount")),
        "totals": tuple(
            _integer(text(f"cac:LegalMonetaryTotal/cbc:{name}"))
            for name in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount")
        ),
        "registration_number": text(f"{_SUPPLIER}/cac:PartyTaxScheme/cbc:CompanyID"),
        "buyer": text(f"{_BUYER}/cac:PartyLegalEntity/cbc:RegistrationName"),
        "buyer_endpoint": text(f"{_BUYER}/cbc:EndpointID"),
        "buyer_legal_id": text(f"{_BUYER}/cac:PartyLegalEntity/cbc:CompanyID"),
        "references": [
            (text("cbc:ID", ref), text("cbc:IssueDate", ref))
            for ref in root.findall("cac:BillingReference/cac:InvoiceDocumentReference", NS)
        ],
        "payment_means": texts("cac:PaymentMeans/cbc:PaymentMeansCode"),
        "mandate": (
            text("cac:PaymentMeans/cac:PaymentMandate/cbc:ID"),
            text("cac:PaymentMeans/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"),
        ),
        "notes": texts("cbc:Note"),
    }


def expected_figures(invoice: Invoice) -> dict:
    """The same figures as the invoice's record (and so its PDF) gives them; a return invoice's negated."""
    returning = invoice.kind == DocumentKind.CREDIT_NOTE
    sign = -1 if returning else 1
    due_on = None if returning else (invoice.due_on or invoice.debit_on)
    notes = []
    if invoice.final:
        notes.append("最終請求")
    if invoice.kind == DocumentKind.CORRECTION and invoice.reason:
        notes.append(f"訂正理由: {invoice.reason}")
    if returning:
        notes.append(f"返還理由: {invoice.reason}")
    number = invoice.recipient.corporate_number
    return {
        "number": invoice.invoice_number,
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": None if due_on is None else due_on.isoformat(),
        "period": (invoice.period_start.isoformat(), invoice.period_end.isoformat()),
        "currency": invoice.currency,
        "lines": [(line.code, sign * line.amount, line.tax_rate_percent) for line in invoice.lines],
        "rates": [(rate.rate_percent, sign * rate.subtotal, sign * rate.tax) for rate in invoice.tax_summary],
        "tax": sign * invoice.tax,
        "totals": (sign * invoice.subtotal, sign * invoice.subtotal, sign * invoice.total, sign * invoice.total),
        "registration_number": invoice.issuer.registration_number,
        "buyer": invoice.recipient.company_name,
        "buyer_endpoint": number,
        "buyer_legal_id": number,
        "references": []
        if invoice.replaces is None
        else [
            (invoice.replaces, None if invoice.replaces_issued_on is None else invoice.replaces_issued_on.isoformat())
        ],
        "payment_means": [] if returning else [PAYMENT_MEANS[invoice.payment_method]],
        # a direct debit names its mandate (aligned-ibrp-019): the customer number and the masked account
        "mandate": (invoice.customer_number, invoice.debited_account)
        if not returning and invoice.payment_method == "direct_debit"
        else (None, None),
        "notes": ["\n".join(notes)] if notes else [],
    }


def check_against_invoice(xml: bytes, invoice: Invoice) -> list[Finding]:
    """Everything in ``xml`` that the official rules pass but that is not ``invoice`` as issued."""
    found: list[Finding] = []
    read, expected = read_figures(xml), expected_figures(invoice)
    for name, value in expected.items():
        if read[name] != value:
            found.append(Finding("same-figures", f"{name}: the XML says {read[name]!r}, the invoice {value!r}"))

    root = ET.fromstring(xml)
    for scheme in root.findall(f"{_SUPPLIER}/cac:PartyTaxScheme", NS):
        company = (scheme.findtext("cbc:CompanyID", "", NS) or "").strip()
        if not is_registration_number(company):
            found.append(Finding("check-digit", f"registration number {company!r}"))
    for element in root.iter():
        if element.get("schemeID") == CORPORATE_NUMBER_SCHEME and not is_corporate_number(element.text):
            found.append(Finding("check-digit", f"{_local(element)} {element.text!r} is no 法人番号"))
        currency = element.get("currencyID")
        if currency is not None and (currency != "JPY" or not _WHOLE_YEN.match(element.text or "")):
            found.append(Finding("whole-yen", f"{_local(element)} is {element.text!r} {currency}"))
    return found


def _integer(raw: str | None) -> int | str | None:
    """An amount as an int when it is whole yen; otherwise as written, so it compares unequal."""
    return int(raw) if raw is not None and _WHOLE_YEN.match(raw) else raw


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]
