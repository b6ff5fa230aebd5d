"""The JP PINT e-invoice: the same figures as the invoice and its PDF, for every kind of document, in the same bytes."""

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.errors import CreditExceedsInvoice, InvalidRequest
from billing.invoicing.einvoice import (
    CUSTOMIZATION_ID,
    PROFILE_ID,
    document_of_invoice,
    einvoice_key,
    render_einvoice,
    render_ubl,
    return_against,
)
from billing.invoicing.invoice import InvoiceLine, consumption_tax, summarise_tax
from billing.invoicing.issuer import load_issuer
from billing.invoicing.numbers import invoice_number
from billing.invoicing.returns import RateReturned, Returned, return_invoice, split_tax_included
from billing.japanese import yen
from billing.vocabulary import DocumentKind
from invoice_pdf import render_invoice_pdf
from tests.einvoice_checks import check_against_invoice
from tests.pint_jp import NO_BUYER_ENDPOINT, failed_asserts
from tests.unit.test_invoice_pdf import make_invoice, text_of

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


@pytest.fixture(scope="module")
def transfer():
    return make_invoice("bank_transfer", "web")


@pytest.fixture(scope="module")
def debit():
    return make_invoice("direct_debit", "postal", person=None)


@pytest.fixture(scope="module")
def correction(transfer):
    return replace(
        transfer,
        invoice_number=invoice_number("2026-10", 2),
        replaces=transfer.invoice_number,
        replaces_issued_on=transfer.issued_on,
        kind=DocumentKind.CORRECTION,
        reason="ピーク件数の訂正",
    )


@pytest.fixture(scope="module")
def refund(transfer):
    return return_against(transfer, "CN-202610-0000001", date(2026, 11, 20), 5_500, "10月分の料金区分の誤り")


def official(xml: bytes) -> list[str]:
    """The ids of the official PINT JP rules' failed asserts (tests/pint_jp.py)."""
    return [failed.id for failed in failed_asserts(xml)]


def tree(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)


def one(root: ET.Element, path: str) -> str:
    found = root.findall(path, NS)
    assert len(found) == 1, (path, len(found))
    return found[0].text


def figures(root: ET.Element) -> dict:
    """What a receiving system reads off the XML."""
    return {
        "number": one(root, "cbc:ID"),
        "issued_on": one(root, "cbc:IssueDate"),
        "period": (one(root, "cac:InvoicePeriod/cbc:StartDate"), one(root, "cac:InvoicePeriod/cbc:EndDate")),
        "rates": [
            (
                int(sub.find("cac:TaxCategory/cbc:Percent", NS).text),
                int(sub.find("cbc:TaxableAmount", NS).text),
                int(sub.find("cbc:TaxAmount", NS).text),
            )
            for sub in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
        ],
        "tax": int(one(root, "cac:TaxTotal/cbc:TaxAmount")),
        "lines_total": int(one(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount")),
        "tax_exclusive": int(one(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")),
        "tax_inclusive": int(one(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")),
        "payable": int(one(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")),
        "lines": [
            (
                line.find("cac:Item/cac:SellersItemIdentification/cbc:ID", NS).text,
                line.find("cac:Item/cbc:Name", NS).text,
                int(line.find("cbc:LineExtensionAmount", NS).text),
                int(line.find("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", NS).text),
            )
            for line in root.findall("cac:InvoiceLine", NS)
        ],
        "supplier_tax_id": one(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"),
        "supplier": one(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
        "customer": one(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
        "references": [
            ref.text for ref in root.findall("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)
        ],
    }


def expected_of(invoice) -> dict:
    return {
        "number": invoice.invoice_number,
        "issued_on": invoice.issued_on.isoformat(),
        "period": (invoice.period_start.isoformat(), invoice.period_end.isoformat()),
        "rates": [(rate.rate_percent, rate.subtotal, rate.tax) for rate in invoice.tax_summary],
        "tax": invoice.tax,
        "lines_total": invoice.subtotal,
        "tax_exclusive": invoice.subtotal,
        "tax_inclusive": invoice.total,
        "payable": invoice.total,
        "lines": [(line.code, line.description, line.amount, line.tax_rate_percent) for line in invoice.lines],
        "supplier_tax_id": invoice.issuer.registration_number,
        "supplier": invoice.issuer.name,
        "customer": invoice.recipient.company_name,
        "references": [invoice.replaces] if invoice.replaces else [],
    }


@pytest.mark.parametrize("kind", ["transfer", "debit", "correction"])
def test_every_figure_of_the_e_invoice_is_the_invoices_own(kind, request):
    # Given an issued invoice of each kind
    invoice = request.getfixturevalue(kind)
    # When it is rendered as JP PINT XML
    xml = render_einvoice(invoice)
    # Then a receiving system reads the invoice's own figures, and the official rules fail only for want of a
    # buyer address (the invoice's recipient has no 法人番号)
    assert figures(tree(xml)) == expected_of(invoice)
    assert check_against_invoice(xml, invoice) == []
    assert official(xml) == [NO_BUYER_ENDPOINT]


@pytest.mark.parametrize("kind", ["transfer", "debit", "correction"])
def test_the_e_invoice_and_the_pdf_show_the_same_figures(kind, request):
    # Given an invoice, its PDF and its e-invoice
    invoice = request.getfixturevalue(kind)
    read = figures(tree(render_einvoice(invoice)))
    text = text_of(render_invoice_pdf(invoice))
    # Then the number, the total, the tax and each rate's subtotal read off the XML appear on the PDF
    assert read["number"] in text
    assert yen(read["tax_inclusive"]) in text
    assert yen(read["tax"]) in text
    for rate, taxable, tax in read["rates"]:
        assert f"{rate}%対象 小計" in text and yen(taxable) in text and yen(tax) in text
    assert read["supplier_tax_id"] in text
    for ref in read["references"]:
        assert f"請求書番号 {ref}（2026年11月1日発行）の訂正" in text


def test_the_header_declares_jp_pint_and_the_document_is_a_380_in_yen(transfer):
    root = tree(render_einvoice(transfer))
    assert root.tag == f"{{{NS['inv']}}}Invoice"
    assert one(root, "cbc:CustomizationID") == CUSTOMIZATION_ID == "urn:peppol:pint:billing-1@jp-1"
    assert one(root, "cbc:ProfileID") == PROFILE_ID == "urn:peppol:bis:billing"
    assert one(root, "cbc:InvoiceTypeCode") == "380"
    assert one(root, "cbc:DocumentCurrencyCode") == "JPY"
    amounts = [el for el in root.iter() if "currencyID" in el.attrib]
    assert amounts and all(el.get("currencyID") == "JPY" and el.text.lstrip("-").isdigit() for el in amounts)
    assert one(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == "VAT"


def test_a_transfer_invoice_carries_the_bank_account_and_the_due_date(transfer):
    root = tree(render_einvoice(transfer))
    bank = load_issuer().bank
    assert one(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "30"
    assert one(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == bank.account_number
    assert one(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:Name") == bank.account_holder
    assert bank.bank_name in one(
        root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:Name"
    )
    assert one(root, "cbc:DueDate") == transfer.due_on.isoformat() == "2026-11-30"


def test_a_debit_invoice_carries_the_debit_date_and_no_bank_account(debit):
    root = tree(render_einvoice(debit))
    assert one(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "49"
    assert root.find("cac:PaymentMeans/cac:PayeeFinancialAccount", NS) is None
    assert one(root, "cbc:DueDate") == debit.debit_on.isoformat() == "2026-11-27"


def test_the_recipient_is_the_one_the_invoice_was_issued_to(debit):
    # Given an invoice issued to a department (no person): the XML names the snapshot the invoice carries
    root = tree(render_einvoice(debit))
    party = "cac:AccountingCustomerParty/cac:Party"
    assert one(root, f"{party}/cac:PostalAddress/cbc:PostalZone") == debit.recipient.postal_code
    assert one(root, f"{party}/cac:PostalAddress/cbc:StreetName") == debit.recipient.address
    assert one(root, f"{party}/cac:Contact/cbc:Name") == "経理部"


def test_the_buyers_corporate_number_is_its_peppol_address_and_legal_id(transfer):
    # Given a recipient with a 法人番号 (国税庁's own)
    invoice = replace(transfer, recipient=replace(transfer.recipient, corporate_number="7000012050002"))
    root = tree(render_einvoice(invoice))
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    # Then it is the buyer's EndpointID (ibt-049) and legal registration id (ibt-047), both scheme 0188
    endpoint = party.find("cbc:EndpointID", NS)
    legal = party.find("cac:PartyLegalEntity/cbc:CompanyID", NS)
    assert (endpoint.text, endpoint.get("schemeID")) == ("7000012050002", "0188")
    assert (legal.text, legal.get("schemeID")) == ("7000012050002", "0188")
    # And the official rules find nothing to fail
    assert official(render_einvoice(invoice)) == []
    # While without one, the buyer has neither, and the document lacks only its address
    plain = tree(render_einvoice(transfer)).find("cac:AccountingCustomerParty/cac:Party", NS)
    assert plain.find("cbc:EndpointID", NS) is None and plain.find("cac:PartyLegalEntity/cbc:CompanyID", NS) is None


def test_a_correction_names_the_original_with_its_issue_date_and_says_why(correction, transfer):
    root = tree(render_einvoice(correction))
    reference = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    assert reference.find("cbc:ID", NS).text == transfer.invoice_number
    assert reference.find("cbc:IssueDate", NS).text == transfer.issued_on.isoformat() == "2026-11-01"
    assert [note.text for note in root.findall("cbc:Note", NS)] == ["訂正理由: ピーク件数の訂正"]
    # A final invoice's correction keeps both in the one Note PINT allows (ibr-sr-51), a line each
    final = tree(render_einvoice(replace(correction, final=True)))
    assert [note.text for note in final.findall("cbc:Note", NS)] == ["最終請求\n訂正理由: ピーク件数の訂正"]
    assert official(render_einvoice(replace(correction, final=True))) == [NO_BUYER_ENDPOINT]


def test_a_return_invoice_is_negative_and_names_the_invoice_it_returns_against(transfer, refund):
    # Given ¥5,500 returned (tax included) against an ¥11,000 invoice
    xml = render_ubl(refund)
    read = figures(tree(xml))
    # Then it is a negative 380 that names the original and its issue date, in its own number series
    assert read["number"] == "CN-202610-0000001"
    assert one(tree(xml), "cbc:InvoiceTypeCode") == "380"
    assert read["references"] == [transfer.invoice_number]
    assert one(tree(xml), "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == "2026-11-01"
    # And the tax is rounded once for the rate: ¥5,000 + ¥500 = ¥5,500
    assert read["rates"] == [(10, -5_000, -500)]
    assert (read["tax_inclusive"], read["payable"], read["tax"]) == (-5_500, -5_500, -500)
    # And the period, parties and reason are the original's
    assert read["period"] == ("2026-10-01", "2026-10-31")
    assert read["supplier_tax_id"] == transfer.issuer.registration_number
    assert read["customer"] == transfer.recipient.company_name
    assert "返還理由: 10月分の料金区分の誤り" in [n.text for n in tree(xml).findall("cbc:Note", NS)]
    # And nothing is due, and each line is a negative quantity at a positive price (ibr-027)
    assert tree(xml).find("cac:PaymentMeans", NS) is None and tree(xml).find("cbc:DueDate", NS) is None
    line = tree(xml).find("cac:InvoiceLine", NS)
    assert line.find("cbc:InvoicedQuantity", NS).text == "-1"
    assert line.find("cac:Price/cbc:PriceAmount", NS).text == "5000"
    assert official(xml) == [NO_BUYER_ENDPOINT]


def test_returning_the_whole_invoice_gives_back_exactly_its_amounts(transfer):
    whole = return_against(transfer, "CN-202610-0000002", date(2026, 11, 20), transfer.total, "契約の取消")
    assert [(r.rate_percent, -r.taxable, -r.tax) for r in whole.rates] == [
        (r.rate_percent, r.subtotal, r.tax) for r in transfer.tax_summary
    ]


def test_a_return_never_exceeds_the_invoice(transfer):
    with pytest.raises(CreditExceedsInvoice, match="more than"):
        return_against(transfer, "CN-202610-0000003", date(2026, 11, 20), transfer.total + 1, "過大")
    with pytest.raises(CreditExceedsInvoice, match="more than"):
        returned = Returned((RateReturned(10, 10_500, 954),))  # the month's chain gave back ¥10,500 already
        return_against(transfer, "CN-202610-0000003", date(2026, 11, 20), 1_000, "二度目", returned=returned)
    # its number is of the CN series of the invoice's own month
    for bad_number in ("INV-202610-0000001", "CN-2026100000001", "CN-202613-0000001", "CN-202611-0000001"):
        with pytest.raises(ValueError, match="CN-"):
            return_against(transfer, bad_number, date(2026, 11, 20), 100, "番号")
    with pytest.raises(InvalidRequest, match="positive"):
        return_against(transfer, "CN-202610-0000003", date(2026, 11, 20), 0, "零")
    with pytest.raises(InvalidRequest, match="before"):
        return_against(transfer, "CN-202610-0000003", date(2026, 10, 31), 100, "日付")


def test_a_tax_included_amount_with_no_exact_split_rounds_the_tax_up_by_one_yen():
    # ¥10 at 10%: ¥9 + ¥0 = ¥9 and ¥10 + ¥1 = ¥11, so no split has tax = floor(base x 10%)
    assert split_tax_included(10, 10) == (9, 1)
    assert split_tax_included(1_100, 10) == (1_000, 100)
    assert split_tax_included(1_000, 10) == (909, 91)
    assert split_tax_included(1_098, 10) == (999, 99)  # exact: floor(999 x 10%) = 99
    assert split_tax_included(1_099, 10) == (999, 100)  # ¥999 + ¥99 = ¥1,098 and ¥1,000 + ¥100 = ¥1,100


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from([8, 10]))
def test_every_tax_included_split_adds_up_and_keeps_the_tax_between_floor_and_ceiling(amount, rate):
    base, tax = split_tax_included(amount, rate)
    assert base + tax == amount
    assert base * rate // 100 <= tax <= -(-base * rate // 100)
    # the invoice's own rounding whenever some split allows it
    if any(b + consumption_tax(b, rate) == amount for b in (base - 1, base, base + 1)):
        assert tax == consumption_tax(base, rate)


def test_the_same_invoice_gives_the_same_bytes(transfer, debit, correction, refund):
    for invoice in (transfer, debit, correction):
        assert render_einvoice(invoice) == render_einvoice(replace(invoice))
    assert render_ubl(refund) == render_ubl(replace(refund))


def test_the_xml_is_utf8_with_fixed_prefixes(transfer):
    xml = render_einvoice(transfer)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:oasis:')
    assert b'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"' in xml
    assert "株式会社サンプル商事".encode() in xml


def test_markup_in_a_name_is_escaped_and_control_characters_are_refused(transfer):
    contact = replace(transfer.recipient, company_name='A&B <"株式会社">')
    xml = render_einvoice(replace(transfer, recipient=contact))
    assert one(tree(xml), "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName") == (
        'A&B <"株式会社">'
    )
    with pytest.raises(ValueError, match="control characters"):
        render_einvoice(replace(transfer, recipient=replace(contact, address="東京都\x00千代田区")))


def test_the_archive_key_sits_beside_the_pdf(transfer):
    assert einvoice_key(transfer.month, transfer.account_id, transfer.invoice_number) == (
        "invoices/2026-10/acme/INV-202610-0000001.xml"
    )


amounts = st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    amounts, st.lists(st.sampled_from([10, 8]), min_size=12, max_size=12), st.sampled_from(["down", "half_up", "up"])
)
def test_any_lines_render_to_totals_that_add_up_and_pass_the_rules(line_amounts, rates, rounding):
    # Given an invoice with random line amounts at one or two rates, and any of the tariff's roundings
    base = make_invoice_once()
    lines = tuple(
        InvoiceLine(f"option:x{n}", f"オプション{n}", "1ヶ月", amount, rates[n])
        for n, amount in enumerate(line_amounts)
    )
    invoice = replace(base, lines=lines, tax_summary=summarise_tax(lines, rounding), tax_rounding=rounding)
    # When it is rendered
    xml = render_einvoice(invoice)
    read = figures(tree(xml))
    # Then the totals add up, the rules pass, and the figures are the invoice's
    assert read["lines_total"] == sum(line_amounts) == read["tax_exclusive"]
    assert read["tax_inclusive"] == read["tax_exclusive"] + read["tax"] == read["payable"]
    assert read["tax"] == sum(tax for _, _, tax in read["rates"])
    assert official(xml) == [NO_BUYER_ENDPOINT]
    assert check_against_invoice(xml, invoice) == []
    assert read == expected_of(invoice)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=10**7), st.integers(min_value=1, max_value=10**7), st.data())
def test_any_return_stays_within_the_invoice_per_rate_and_passes_the_rules(ten, eight, data):
    # Given an invoice at 10% and 8%, and any amount up to its total returned against it
    base = make_invoice_once()
    lines = (InvoiceLine("plan:a", "A", "1ヶ月", ten, 10), InvoiceLine("option:b", "B", "1ヶ月", eight, 8))
    invoice = replace(base, lines=lines, tax_summary=summarise_tax(lines, "down"))
    amount = data.draw(st.integers(min_value=1, max_value=invoice.total))
    # When it is returned
    document = return_against(invoice, "CN-202610-0000009", date(2026, 11, 2), amount, "返金")
    # Then the return adds up to the amount, never exceeds a rate's own amounts, and passes the rules
    assert -document.tax_inclusive == amount
    by_rate = {rate.rate_percent: rate for rate in invoice.tax_summary}
    for rate in document.rates:
        assert 0 <= -rate.taxable <= by_rate[rate.rate_percent].subtotal
        assert 0 <= -rate.tax <= by_rate[rate.rate_percent].tax
    assert official(render_ubl(document)) == [NO_BUYER_ENDPOINT]


_BASE = []


def make_invoice_once():
    if not _BASE:
        _BASE.append(make_invoice())
    return _BASE[0]


def test_document_of_invoice_refuses_totals_that_do_not_match_the_lines(transfer):
    from billing.invoicing.einvoice.document import RateTotal

    document = document_of_invoice(transfer)
    with pytest.raises(ValueError, match="add up"):
        replace(document, rates=(RateTotal(10, document.line_total + 1, 1000),))


def test_a_return_invoice_pdf_and_e_invoice_show_the_same_figures(transfer):
    # Given a return invoice against an invoice: one domain object for both renderers
    document = return_invoice(transfer, "CN-202610-0000001", date(2026, 11, 20), 5_500, "10月分の料金区分の誤り")
    read = figures(tree(render_einvoice(document)))
    text = text_of(render_invoice_pdf(document))
    # Then the PDF is a 適格返還請求書 naming the original, its issue date and the reason
    assert "適格返還請求書" in text and "本書は適格返還請求書です" in text
    assert f"{transfer.invoice_number}（2026年11月1日発行）" in text and "10月分の料金区分の誤り" in text
    # And the XML carries the same amounts, negative, and names the original
    assert read["number"] == "CN-202610-0000001" and read["number"] in text
    assert -read["tax_inclusive"] == document.total and yen(document.total) in text
    assert -read["tax"] == document.tax and yen(document.tax) in text
    for rate, taxable, tax in read["rates"]:
        assert f"{rate}%対象 小計" in text and yen(-taxable) in text and yen(-tax) in text
    assert read["references"] == [transfer.invoice_number]
