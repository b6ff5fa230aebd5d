"""The hand checks the official rules cannot make: the XML says what the invoice says, and the check digits are right.

Each case below is a document the official PINT JP rules pass (they see the XML alone), and the hand check catches.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from billing.invoicing.einvoice import render_einvoice
from tests.einvoice_checks import CHECKS, check_against_invoice, expected_figures, read_figures
from tests.pint_jp import failed_asserts
from tests.unit.test_pint_jp import CORPORATE_NUMBER, DOCUMENTS, with_corporate_number

INVOICE = with_corporate_number(DOCUMENTS["invoice (bank transfer)"])
CORRECTION = with_corporate_number(DOCUMENTS["correction"])
RETURN = with_corporate_number(DOCUMENTS["return invoice"])


def found(invoice, old: str, new: str) -> set[str]:
    """Change ``old`` to ``new`` in the invoice's XML: the official rules still pass it; what do the checks say?"""
    xml = render_einvoice(invoice).decode("utf-8")
    assert old in xml, old
    broken = xml.replace(old, new, 1).encode()
    assert failed_asserts(broken) == [], "the official rules catch this one: it is not a case for the hand checks"
    return {finding.check for finding in check_against_invoice(broken, invoice)}


@pytest.mark.parametrize(
    ("invoice", "old", "new", "check"),
    [
        (INVOICE, "<cbc:ID>INV-202610-0000001</cbc:ID>", "<cbc:ID>INV-202610-0000009</cbc:ID>", "same-figures"),
        (
            INVOICE,
            "<cbc:IssueDate>2026-11-01</cbc:IssueDate>",
            "<cbc:IssueDate>2026-11-02</cbc:IssueDate>",
            "same-figures",
        ),
        (INVOICE, "<cbc:DueDate>2026-11-30</cbc:DueDate>", "<cbc:DueDate>2026-12-31</cbc:DueDate>", "same-figures"),
        (
            INVOICE,
            '<cbc:PaymentMeansCode name="銀行振込">30</cbc:PaymentMeansCode>',
            '<cbc:PaymentMeansCode name="銀行振込">31</cbc:PaymentMeansCode>',
            "same-figures",
        ),
        (
            INVOICE,
            "<cbc:RegistrationName>株式会社サンプル商事</cbc:RegistrationName>",
            "<cbc:RegistrationName>株式会社ほかの会社</cbc:RegistrationName>",
            "same-figures",
        ),
        (  # another real 法人番号: a valid address, but not the recipient's
            INVOICE,
            f'<cbc:EndpointID schemeID="0188">{CORPORATE_NUMBER}</cbc:EndpointID>',
            '<cbc:EndpointID schemeID="0188">4011001098993</cbc:EndpointID>',
            "same-figures",
        ),
        (  # a correction's original, named with the wrong issue date
            CORRECTION,
            "<cbc:IssueDate>2026-11-01</cbc:IssueDate>\n    </cac:InvoiceDocumentReference>",
            "<cbc:IssueDate>2026-10-01</cbc:IssueDate>\n    </cac:InvoiceDocumentReference>",
            "same-figures",
        ),
        (CORRECTION, "訂正理由: ピーク件数の訂正（報告漏れ）", "訂正理由: なし", "same-figures"),
        (RETURN, "返還理由: 料金区分の誤り", "返還理由: 別の理由", "same-figures"),
        (
            INVOICE,
            "<cbc:CompanyID>T5999901234567</cbc:CompanyID>",
            "<cbc:CompanyID>T4999901234567</cbc:CompanyID>",
            "check-digit",
        ),
    ],
)
def test_each_check_catches_what_the_official_rules_let_through(invoice, old, new, check):
    assert check_against_invoice(render_einvoice(invoice), invoice) == []
    assert check in found(invoice, old, new)


def test_a_corporate_number_with_a_wrong_check_digit_is_caught():
    # The official rules check only that an address is there; 6000012050002 is 国税庁's number with a wrong first digit
    bad = replace(INVOICE, recipient=replace(INVOICE.recipient, corporate_number="6000012050002"))
    xml = render_einvoice(bad)
    assert failed_asserts(xml) == []
    assert {finding.check for finding in check_against_invoice(xml, bad)} == {"check-digit"}


def test_an_amount_that_is_not_whole_yen_is_caught():
    xml = render_einvoice(INVOICE).decode("utf-8")
    old = '<cbc:LineExtensionAmount currencyID="JPY">7000</cbc:LineExtensionAmount>'
    assert old in xml
    broken = xml.replace(old, old.replace("7000", "7000.00"), 1).encode()
    assert "whole-yen" in {finding.check for finding in check_against_invoice(broken, INVOICE)}


def test_the_xml_of_one_invoice_is_not_the_xml_of_another():
    debit = with_corporate_number(DOCUMENTS["debit invoice"])
    findings = check_against_invoice(render_einvoice(INVOICE), debit)
    assert {finding.check for finding in findings} == {"same-figures"}
    assert any("payment_means" in finding.detail for finding in findings)


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_every_figure_read_off_the_xml_is_the_invoices(kind):
    invoice = DOCUMENTS[kind]
    assert read_figures(render_einvoice(invoice)) == expected_figures(invoice)


def test_every_check_has_its_wording():
    assert set(CHECKS) == {"same-figures", "check-digit", "whole-yen"}
    assert all(text.strip() for text in CHECKS.values())
