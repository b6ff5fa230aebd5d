"""``InvoiceIssued``: the domain's plain announcement and the edge's published message say the same, byte for byte.

The domain builds the event's detail without pydantic
(``billing.invoicing.announcements``); the edge declares the message
(``billing.schema.messages.InvoiceIssuedDetail``), parses each event with it and
hands delivery the domain's form (``as_issued``).
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import date

import pytest

from billing.invoicing.announcements import InvoiceIssued, issued_event
from billing.invoicing.invoice import Invoice
from billing.invoicing.numbers import invoice_number
from billing.invoicing.returns import return_invoice
from billing.schema.messages import InvoiceIssuedDetail
from billing.vocabulary import DocumentKind
from tests.unit.test_invoice_pdf import make_invoice


def documents() -> dict[str, Invoice]:
    transfer = make_invoice("bank_transfer", "web")
    return {
        "web, bank transfer": transfer,
        "postal, direct debit": make_invoice("direct_debit", "postal", person=None),
        "correction": replace(
            transfer,
            invoice_number=invoice_number("2026-10", 2),
            replaces=transfer.invoice_number,
            replaces_issued_on=transfer.issued_on,
            kind=DocumentKind.CORRECTION,
            reason="ピーク件数の訂正",
        ),
        "return invoice": return_invoice(transfer, "CN-202610-0000001", date(2026, 11, 20), 5_500, "料金区分の誤り"),
    }


def stored(invoice: Invoice) -> dict:
    return {**invoice.as_record(), "pdf_key": f"invoices/{invoice.invoice_number}.pdf", "pdf_sha256": "ab" * 32}


def published(invoice: Invoice, record: dict, correlation_id: str | None) -> dict:
    """The detail as the edge's model builds it from the same values (how it was built before the domain did)."""
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
        recipient_line=invoice.recipient_line,
        email=invoice.recipient.email,
        issuer_name=invoice.issuer.name,
    ).body()


def test_the_domain_and_the_edge_declare_the_same_fields_in_the_same_order():
    assert [field.name for field in fields(InvoiceIssued)] == list(InvoiceIssuedDetail.model_fields)


@pytest.mark.parametrize("kind", list(documents()))
@pytest.mark.parametrize("correlation_id", ["close/2026-10/req-1", None])
def test_the_domain_builds_the_detail_the_edge_publishes(kind, correlation_id):
    invoice = documents()[kind]
    record = stored(invoice)
    detail = issued_event(invoice, record, correlation_id)
    # the same JSON, key for key and in the same order, as the message model makes of the same values
    expected = published(invoice, record, correlation_id)
    assert json.dumps(detail, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)
    # and the edge parses it back into the very announcement the domain made
    assert InvoiceIssuedDetail.model_validate(detail).as_issued() == InvoiceIssued.of(invoice, record, correlation_id)


def test_an_event_from_before_the_notice_fields_parses_with_them_empty():
    invoice = documents()["web, bank transfer"]
    detail = issued_event(invoice, stored(invoice))
    old = {key: value for key, value in detail.items() if key not in {"recipient_line", "email", "issuer_name"}}
    issued = InvoiceIssuedDetail.model_validate(old).as_issued()
    assert (issued.recipient_line, issued.email, issued.issuer_name) == (None, None, None)
    assert issued.issued_on == invoice.issued_on and issued.kind == DocumentKind.INVOICE
