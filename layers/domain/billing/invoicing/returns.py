"""Return invoices (適格返還請求書): part or all of a month's invoice given back.

A return invoice is a document of its own, in its own gapless series per billing
month (``CN-YYYYMM-NNNNNNN``, the month of the invoice it names). It shows what
is returned per tax rate and that rate's tax, and names the invoice it returns
against with its issue date. The amounts are positive yen returned; the
e-invoice carries them as a negative invoice.

Returns belong to the month's chain of documents (the invoice, its corrections
and their returns), not to one document: a yen returned against an invoice
stays returned against the correction that replaces it. ``Returned`` is what
the chain has returned so far, per tax rate. So:

* what may still be returned is the latest document's total less everything
  the chain returned, and a correction below what the chain returned is
  refused (``check_covers_returns``);
* a return is spread over the latest document's rates in proportion to what is
  left at each (largest remainder, so the shares add up exactly);
* its tax at a rate is the tax inside the chain's cumulative return at that
  rate less the tax already returned there. The tax inside an amount never
  falls as the amount grows and reaches the rate's own tax at its total, so the
  returns of a month never carry more tax than its invoice did, however the
  amounts are cut (ten returns of ¥395 and one of ¥450 give back ¥400 of a
  ¥4,400 invoice's tax, not ¥401).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from billing.errors import (
    CorrectionBelowReturned,
    CreditExceedsInvoice,
    InvalidRequest,
    InvoiceReplaced,
    ReturnsExceedDocument,
)
from billing.invoicing.invoice import Invoice, InvoiceLine, TaxSummary, consumption_tax
from billing.invoicing.numbers import CREDIT_NOTE_SERIES, parse_document_number
from billing.vocabulary import DocumentKind, InvoiceStatus


def split_tax_included(amount: int, rate_percent: int, rounding: str = "down") -> tuple[int, int]:
    """(tax excluded, tax) that add up to ``amount`` yen, tax included, at one rate.

    The split the invoice's own formula gives: ``tax = consumption_tax(base, rate, rounding)`` with
    ``base + tax = amount``; at 10% rounded down that is ``floor(amount x 10 / 110)`` for most amounts. It is
    unique when it exists, so returning a rate's whole total gives back exactly its subtotal and tax. Some amounts
    have no such split (at 10%, ¥10: ¥9 + ¥0 = ¥9 and ¥10 + ¥1 = ¥11); those round the tax up by one yen, which
    keeps it between the floor and the ceiling of base x rate.
    """
    if amount < 0:
        raise ValueError(f"amount must be positive yen, got {amount}")
    low = amount * rate_percent // (100 + rate_percent)  # floor of the tax inside amount
    for tax in (low, low + 1):
        if consumption_tax(amount - tax, rate_percent, rounding) == tax:
            return amount - tax, tax
    for tax in (low, low + 1):  # no exact split: the one between floor and ceiling
        scaled = (amount - tax) * rate_percent
        if scaled // 100 <= tax <= -(-scaled // 100):
            return amount - tax, tax
    raise AssertionError(f"no split of {amount} at {rate_percent}%")  # unreachable: low + 1 always fits


def apportion(amount: int, weights: list[int]) -> list[int]:
    """``amount`` split in proportion to ``weights``; the largest remainders take the leftover yen."""
    total = sum(weights)
    floors = [amount * weight // total for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[: amount - sum(floors)]:
        floors[i] += 1
    return floors


@dataclass(frozen=True)
class RateReturned:
    """What a chain returned at one tax rate: the amount (tax included) and the tax inside it."""

    rate_percent: int
    amount: int
    tax: int


@dataclass(frozen=True)
class Returned:
    """What a month's chain of documents has returned so far, per tax rate (highest rate first)."""

    rates: tuple[RateReturned, ...] = ()

    @property
    def total(self) -> int:
        """Yen returned, tax included."""
        return sum(rate.amount for rate in self.rates)

    @property
    def tax(self) -> int:
        return sum(rate.tax for rate in self.rates)

    def at(self, rate_percent: int) -> RateReturned:
        found = (rate for rate in self.rates if rate.rate_percent == rate_percent)
        return next(found, RateReturned(rate_percent, 0, 0))

    def plus(self, credit_note: Invoice) -> Returned:
        """The chain once ``credit_note`` is issued too."""
        by_rate = {rate.rate_percent: rate for rate in self.rates}
        for rate in credit_note.tax_summary:
            before = self.at(rate.rate_percent)
            by_rate[rate.rate_percent] = RateReturned(
                rate.rate_percent, before.amount + rate.subtotal + rate.tax, before.tax + rate.tax
            )
        return Returned(tuple(by_rate[rate] for rate in sorted(by_rate, reverse=True)))

    @classmethod
    def of(cls, documents: Iterable[Invoice]) -> Returned:
        """What the return invoices among a month's ``documents`` add up to."""
        returned = cls()
        for document in documents:
            if document.kind == DocumentKind.CREDIT_NOTE:
                returned = returned.plus(document)
        return returned

    def as_record(self) -> dict:
        return {
            "returned": self.total,
            "returned_tax": self.tax,
            "rates": [{"rate_percent": r.rate_percent, "amount": r.amount, "tax": r.tax} for r in self.rates],
        }

    @classmethod
    def from_record(cls, record: dict) -> Returned:
        rates = tuple(RateReturned(int(r["rate_percent"]), int(r["amount"]), int(r["tax"])) for r in record["rates"])
        returned = cls(rates)
        if (returned.total, returned.tax) != (record["returned"], record["returned_tax"]):
            raise ValueError(f"returned totals {record['returned']}, {record['returned_tax']} do not match its rates")
        return returned


NOTHING_RETURNED = Returned()


def return_invoice(
    latest: Invoice,
    number: str,
    issued_on: date,
    amount: int,
    reason: str,
    *,
    returned: Returned = NOTHING_RETURNED,
) -> Invoice:
    """The return invoice giving back ``amount`` yen (tax included) of ``latest``, the month's current invoice,
    after the chain has ``returned`` what it has."""
    series, month, _ = parse_document_number(number)
    if series != CREDIT_NOTE_SERIES or month != latest.month:
        raise ValueError(f"a return invoice of {latest.month} is numbered CN-{latest.month.replace('-', '')}-…")
    if latest.kind == DocumentKind.CREDIT_NOTE:
        raise InvalidRequest(f"{latest.invoice_number} is a return invoice: return against the invoice it names")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidRequest(f"amount must be a positive integer of yen, got {amount!r}")
    if not reason.strip():
        raise InvalidRequest("a return needs its reason")
    if issued_on < latest.issued_on:
        raise InvalidRequest(f"a return cannot be issued before its invoice ({latest.issued_on})")
    if short := short_of_returns(latest, returned):  # only a month whose returns predate its chain
        raise ReturnsExceedDocument(latest.invoice_number, amount, latest.total, returned.total, short)
    if amount > latest.total - returned.total:
        raise CreditExceedsInvoice(latest.invoice_number, amount, latest.total, returned.total)
    rooms = [rate.subtotal + rate.tax - returned.at(rate.rate_percent).amount for rate in latest.tax_summary]
    shares = apportion(amount, rooms)
    lines, rates = [], []
    for rate, share in zip(latest.tax_summary, shares, strict=True):
        if share == 0:
            continue
        before = returned.at(rate.rate_percent)
        _, tax_so_far = split_tax_included(before.amount + share, rate.rate_percent, latest.tax_rounding)
        tax = tax_so_far - before.tax
        if not 0 <= tax <= share or tax_so_far > rate.tax:  # only a chain that already returned too much tax
            raise CreditExceedsInvoice(latest.invoice_number, amount, latest.total, returned.total)
        lines.append(
            InvoiceLine(
                code=f"return:{latest.invoice_number}",
                description=f"{latest.invoice_number} ご請求分の返還",
                detail=f"{rate.rate_percent}%対象",
                amount=share - tax,
                tax_rate_percent=rate.rate_percent,
            )
        )
        rates.append(TaxSummary(rate.rate_percent, share - tax, tax))
    return replace(
        latest,
        invoice_number=number,
        issued_on=issued_on,
        due_on=None,
        debit_on=None,
        lines=tuple(lines),
        tax_summary=tuple(rates),
        final=False,
        kind=DocumentKind.CREDIT_NOTE,
        replaces=latest.invoice_number,
        replaces_issued_on=latest.issued_on,
        reason=reason,
    )


def short_of_returns(document: Invoice, returned: Returned) -> tuple[int, ...]:
    """The tax rates at which ``document`` bills less than its chain ``returned``; empty when it covers them (so
    it bills at least the whole of it too)."""
    totals = {rate.rate_percent: rate.subtotal + rate.tax for rate in document.tax_summary}
    return tuple(rate.rate_percent for rate in returned.rates if rate.amount > totals.get(rate.rate_percent, 0))


def check_covers_returns(correction: Invoice, returned: Returned) -> None:
    """A month's current document must cover what its chain has returned, at every tax rate.

    A correction below it would leave yen returned that were never billed: 409, naming the amounts.
    """
    if short_of_returns(correction, returned):
        corrected = correction.replaces or correction.invoice_number
        raise CorrectionBelowReturned(corrected, correction.total, returned.total)


def check_correctable(original: Invoice, status: str) -> None:
    """Only the month's current invoice may be corrected or returned against."""
    if status == InvoiceStatus.REPLACED:
        raise InvoiceReplaced(original.invoice_number)
    if original.kind == DocumentKind.CREDIT_NOTE:
        raise InvalidRequest(f"{original.invoice_number} is a return invoice; act on the invoice it names")
    if status != InvoiceStatus.ISSUED:
        raise InvalidRequest(f"{original.invoice_number} is not issued yet")
