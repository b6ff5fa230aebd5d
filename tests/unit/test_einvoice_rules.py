"""The JP PINT rule checks: each one catches the mistake it names, and the rendered documents pass them all."""

from datetime import date

import pytest

from billing.invoicing.einvoice import check_einvoice, render_einvoice, render_ubl, return_against
from billing.invoicing.einvoice.rules import RULES
from tests.unit.test_invoice_pdf import make_invoice


@pytest.fixture(scope="module")
def xml() -> str:
    return render_einvoice(make_invoice()).decode("utf-8")


def broken(xml: str, old: str, new: str) -> set[str]:
    assert old in xml, old
    return {violation.rule for violation in check_einvoice(xml.replace(old, new, 1).encode())}


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("<cbc:CompanyID>T5999901234567</cbc:CompanyID>", "<cbc:CompanyID>5999901234567</cbc:CompanyID>", "jp-br-01"),
        ("<cbc:CompanyID>T5999901234567</cbc:CompanyID>", "<cbc:CompanyID>T599990123456</cbc:CompanyID>", "jp-br-01"),
        (
            "<cbc:CompanyID>T5999901234567</cbc:CompanyID>",
            "<cbc:CompanyID>T4999901234567</cbc:CompanyID>",
            "project-t-number-check-digit",
        ),
        (
            '<cbc:TaxAmount currencyID="JPY">1000</cbc:TaxAmount>',
            '<cbc:TaxAmount currencyID="JPY">1000.00</cbc:TaxAmount>',
            "jp-br-02",
        ),
        (
            '<cbc:TaxableAmount currencyID="JPY">10000</cbc:TaxableAmount>',
            '<cbc:TaxableAmount currencyID="JPY">12000</cbc:TaxableAmount>',
            "jp-br-co-01",
        ),
        ("<cbc:EndDate>2026-10-31</cbc:EndDate>", "", "jp-br-co-03"),
        ("<cbc:EndDate>2026-10-31</cbc:EndDate>", "<cbc:EndDate>2026-09-30</cbc:EndDate>", "ibr-29"),
        (
            "<cbc:IssueDate>2026-11-01</cbc:IssueDate>",
            "<cbc:IssueDate>2026-11-1</cbc:IssueDate>",
            "PEPPOL-EN16931-F001",
        ),
        (
            '<cbc:LineExtensionAmount currencyID="JPY">7000</cbc:LineExtensionAmount>',
            '<cbc:LineExtensionAmount currencyID="JPY">7001</cbc:LineExtensionAmount>',
            "ibr-co-10",
        ),
        (
            '<cbc:TaxExclusiveAmount currencyID="JPY">10000</cbc:TaxExclusiveAmount>',
            '<cbc:TaxExclusiveAmount currencyID="JPY">9999</cbc:TaxExclusiveAmount>',
            "ibr-co-13",
        ),
        (
            '<cbc:TaxInclusiveAmount currencyID="JPY">11000</cbc:TaxInclusiveAmount>',
            '<cbc:TaxInclusiveAmount currencyID="JPY">11001</cbc:TaxInclusiveAmount>',
            "ibr-co-15",
        ),
        (
            '<cbc:PayableAmount currencyID="JPY">11000</cbc:PayableAmount>',
            '<cbc:PayableAmount currencyID="JPY">10000</cbc:PayableAmount>',
            "ibr-co-16",
        ),
        (
            '<cbc:PriceAmount currencyID="JPY">7000</cbc:PriceAmount>',
            '<cbc:PriceAmount currencyID="JPY">-7000</cbc:PriceAmount>',
            "ibr-27",
        ),
        (
            "<cbc:CustomizationID>urn:peppol:pint:billing-1@jp-1</cbc:CustomizationID>",
            "<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>",
            "project-profile",
        ),
        (
            '<cbc:TaxAmount currencyID="JPY">1000</cbc:TaxAmount>',
            '<cbc:TaxAmount currencyID="USD">1000</cbc:TaxAmount>',
            "project-jpy",
        ),
        (
            '<cbc:PaymentMeansCode name="銀行振込">30</cbc:PaymentMeansCode>',
            '<cbc:PaymentMeansCode name="銀行振込"></cbc:PaymentMeansCode>',
            "ibr-49",
        ),
    ],
)
def test_each_rule_catches_the_mistake_it_names(xml, old, new, rule):
    assert check_einvoice(xml.encode()) == []
    assert rule in broken(xml, old, new)


def test_tax_total_must_be_the_sum_of_the_rates(xml):
    # The document-level TaxAmount is the first one; the subtotal's comes after TaxableAmount
    head, tail = xml.split("<cac:TaxSubtotal>", 1)
    bad = head.replace(
        '<cbc:TaxAmount currencyID="JPY">1000</cbc:TaxAmount>', '<cbc:TaxAmount currencyID="JPY">999</cbc:TaxAmount>'
    )
    rules = {v.rule for v in check_einvoice((bad + "<cac:TaxSubtotal>" + tail).encode())}
    assert {"ibr-co-14", "ibr-co-15"} <= rules


def test_a_line_rate_without_its_breakdown_is_caught(xml):
    # The last line's category says 8%, but the breakdown has only 10%
    head, _, tail = xml.rpartition("<cbc:Percent>10</cbc:Percent>")
    assert "ClassifiedTaxCategory" in tail[:200]
    rules = {v.rule for v in check_einvoice((head + "<cbc:Percent>8</cbc:Percent>" + tail).encode())}
    assert "project-rate-taxable" in rules


def test_a_missing_name_line_and_reference_are_caught(xml):
    assert "ibr-07" in broken(xml, "<cbc:RegistrationName>株式会社サンプル商事</cbc:RegistrationName>", "")
    assert "ibr-25" in broken(xml, "<cbc:Name>外部連携オプション (bridge) 月額</cbc:Name>", "")
    start, end = xml.index("  <cac:InvoiceLine>"), xml.index("</Invoice>")
    assert "ibr-16" in {v.rule for v in check_einvoice((xml[:start] + xml[end:]).encode())}
    reference = (
        "<cac:BillingReference><cac:InvoiceDocumentReference></cac:InvoiceDocumentReference></cac:BillingReference>"
    )
    assert "ibr-55" in broken(xml, "  <cac:AccountingSupplierParty>", reference + "<cac:AccountingSupplierParty>")


def test_a_return_with_a_zero_tax_still_passes():
    # ¥5 returned at 10%: ¥5 + ¥0, and a zero is an integer amount (jp-br-02's wording, see rules.py)
    document = return_against(make_invoice(), "CN-202610-0000001", date(2026, 11, 2), 5, "端数")
    assert [(r.taxable, r.tax) for r in document.rates] == [(-5, 0)]
    assert check_einvoice(render_ubl(document)) == []


def test_every_rule_has_its_wording():
    assert all(text.strip() for text in RULES.values())
    assert {"jp-br-01", "jp-br-02", "jp-br-co-01", "ibr-co-10", "ibr-co-14", "ibr-co-15"} <= RULES.keys()
