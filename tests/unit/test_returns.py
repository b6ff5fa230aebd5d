"""Return invoices belong to the month's chain of documents: what is left, and the tax they give back."""

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.errors import CorrectionBelowReturned, CreditExceedsInvoice, ReturnsExceedDocument
from billing.invoicing.invoice import Invoice, InvoiceLine, summarise_tax
from billing.invoicing.numbers import document_number, invoice_number
from billing.invoicing.returns import (
    NOTHING_RETURNED,
    RateReturned,
    Returned,
    check_covers_returns,
    return_invoice,
    split_tax_included,
)
from billing.vocabulary import DocumentKind
from tests.unit.test_invoice_pdf import make_invoice

RETURNED_ON = date(2026, 11, 20)


def invoice_of(*amounts: tuple[int, int], number: str = invoice_number("2026-10", 1), base=None) -> Invoice:
    """An October invoice whose lines are ``(yen tax excluded, rate)``; its tax is rounded once per rate."""
    base = base or make_invoice()
    lines = tuple(InvoiceLine(f"plan:l{i}", "明細", "1ヶ月", amount, rate) for i, (amount, rate) in enumerate(amounts))
    return replace(base, invoice_number=number, lines=lines, tax_summary=summarise_tax(lines, base.tax_rounding))


def give_back(invoice: Invoice, amounts: list[int], returned: Returned = NOTHING_RETURNED):
    """Return each amount in turn against ``invoice``, the chain carried along; (documents, chain after)."""
    documents = []
    for amount in amounts:
        number = document_number("CN", invoice.month, len(documents) + 1)
        document = return_invoice(invoice, number, RETURNED_ON, amount, "返金", returned=returned)
        documents.append(document)
        returned = returned.plus(document)
    return documents, returned


def test_eleven_returns_of_a_4400_invoice_give_back_its_400_of_tax_not_401():
    # Given a ¥4,400 invoice (¥4,000 + ¥400 tax)
    invoice = invoice_of((4_000, 10))
    assert (invoice.total, invoice.tax) == (4_400, 400)
    # When ten returns of ¥395 and one of ¥450 give all of it back
    documents, returned = give_back(invoice, [395] * 10 + [450])
    # Then together they return exactly what was billed: ¥4,000 and ¥400 of tax (each rounded alone gives ¥401)
    assert sum(d.total for d in documents) == 4_400
    assert sum(d.tax for d in documents) == 400 == returned.tax
    assert sum(split_tax_included(395, 10)[1] for _ in range(10)) + split_tax_included(450, 10)[1] == 401
    # And each return's tax is the tax inside the cumulative amount less what was returned before: ¥395 splits as
    # ¥359 + ¥36 (¥360 + ¥35 is not a split: ¥360 bears ¥36), ¥790 as ¥719 + ¥71, ¥1,185 as ¥1,078 + ¥107
    assert [d.tax for d in documents[:3]] == [36, 71 - 36, 107 - 71]
    # And nothing more can be returned
    with pytest.raises(CreditExceedsInvoice, match=r"¥0 left .*¥4,400 billed, ¥4,400 already returned"):
        give_back(invoice, [1], returned)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 400_000), st.sampled_from([10, 8])), min_size=1, max_size=3),
    st.lists(st.integers(1, 60_000), min_size=1, max_size=25),
)
def test_returns_never_give_back_more_tax_than_the_invoice_at_any_rate(lines, cuts):
    # Given any invoice (one or two tax rates), returned in any cuts until nothing is left
    invoice = invoice_of(*lines)
    amounts, left = [], invoice.total
    for cut in cuts:
        if left == 0:
            break
        amounts.append(min(cut, left))
        left -= amounts[-1]
    if left:
        amounts.append(left)
    documents, returned = give_back(invoice, amounts)
    # Then every return is tax excluded plus tax, both never negative, at the invoice's rates
    for document, amount in zip(documents, amounts, strict=True):
        assert document.total == amount
        assert all(rate.subtotal >= 0 and rate.tax >= 0 for rate in document.tax_summary)
    # And at each rate the chain gave back exactly what was billed there: its subtotal and its tax
    for rate in invoice.tax_summary:
        back = [r for d in documents for r in d.tax_summary if r.rate_percent == rate.rate_percent]
        assert (sum(r.subtotal for r in back), sum(r.tax for r in back)) == (rate.subtotal, rate.tax)
    assert (returned.total, returned.tax) == (invoice.total, invoice.tax)


def test_what_is_left_is_the_latest_documents_total_less_everything_the_chain_returned():
    # Given ¥7,700 billed, ¥7,000 returned, and a correction billing ¥11,000
    original = invoice_of((7_000, 10))
    _, returned = give_back(original, [7_000])
    correction = replace(
        invoice_of((10_000, 10), number=invoice_number("2026-10", 2)),
        kind=DocumentKind.CORRECTION,
        replaces=original.invoice_number,
    )
    check_covers_returns(correction, returned)
    # Then ¥4,000 is left to return against the correction, not ¥11,000
    with pytest.raises(CreditExceedsInvoice, match=r"¥4,000 left .*¥11,000 billed, ¥7,000 already returned"):
        give_back(correction, [4_001], returned)
    documents, after = give_back(correction, [4_000], returned)
    # And its tax is what the chain's ¥11,000 holds (¥1,000) less the ¥636 already given back
    assert (documents[0].tax, after.total, after.tax) == (364, 11_000, 1_000)


def test_a_correction_below_what_was_returned_is_refused_naming_the_amounts():
    original = invoice_of((7_000, 10))
    _, returned = give_back(original, [7_000])
    cheaper = replace(
        invoice_of((4_000, 10), number=invoice_number("2026-10", 2)),
        kind=DocumentKind.CORRECTION,
        replaces=original.invoice_number,
    )
    with pytest.raises(CorrectionBelowReturned) as refused:
        check_covers_returns(cheaper, returned)
    assert refused.value.code == "credit_exceeds_invoice" and refused.value.status == 409
    assert "INV-202610-0000001" in refused.value.message
    assert "¥4,400" in refused.value.message and "¥7,000" in refused.value.message
    # the same total at another rate does not cover a return at the first
    other_rate = replace(cheaper, lines=(), tax_summary=summarise_tax((InvoiceLine("x", "x", "x", 9_000, 8),), "down"))
    with pytest.raises(CorrectionBelowReturned):
        check_covers_returns(other_rate, returned)


def test_a_return_against_a_document_short_of_its_months_returns_is_refused_as_a_return():
    # Given ¥7,000 returned against a ¥7,700 invoice, and a correction billing ¥4,400 made before returns
    # belonged to the month's chain (nothing refused it then)
    original = invoice_of((7_000, 10))
    _, returned = give_back(original, [7_000])
    cheaper = replace(
        invoice_of((4_000, 10), number=invoice_number("2026-10", 2)),
        kind=DocumentKind.CORRECTION,
        replaces=original.invoice_number,
    )
    # When ¥100 is returned against it, then it is 409 credit_exceeds_invoice, worded for a return
    with pytest.raises(ReturnsExceedDocument) as refused:
        give_back(cheaper, [100], returned)
    assert refused.value.code == "credit_exceeds_invoice" and refused.value.status == 409
    message = refused.value.message
    assert message.startswith("returning ¥100 against INV-202610-0000002 is more than is left of it"), message
    assert "¥7,000 already returned in its month, more than the ¥4,400 it bills" in message
    assert "correction of" not in message
    # And a document short at one rate only names that rate, though its total covers the returns
    two_rates = invoice_of((4_000, 10), (1_000, 8))
    _, at_8 = give_back(two_rates, [1_080])  # spread over both rates: ¥213 of it at 8%
    only_10 = replace(cheaper, lines=(), tax_summary=summarise_tax((InvoiceLine("x", "x", "x", 9_000, 10),), "down"))
    with pytest.raises(ReturnsExceedDocument, match=r"gave back more than it bills at 8%"):
        give_back(only_10, [1], at_8)


def test_the_chain_is_stored_as_it_is_read_and_a_damaged_record_is_refused():
    _, returned = give_back(invoice_of((4_000, 10), (1_000, 8)), [1_234, 2_000])
    assert Returned.from_record(returned.as_record()) == returned
    assert Returned.of([]) == NOTHING_RETURNED
    damaged = returned.as_record() | {"returned_tax": returned.tax + 1}
    with pytest.raises(ValueError, match="do not match"):
        Returned.from_record(damaged)
    assert returned.at(5) == RateReturned(5, 0, 0)
