"""Return invoices (適格返還請求書): part or all of an issued invoice given back.

A return invoice is a document of its own, in its own gapless series per billing
month (``CN-YYYYMM-NNNNNNN``, the month of the invoice it names). It shows what
is returned per tax rate and that rate's tax, rounded once per rate, and names
the invoice it returns against with its issue date. The amounts are positive
yen returned; the e-invoice carries them as a negative invoice.

The returned amount (tax included) is spread over the invoice's tax rates in
proportion to each rate's total (largest remainder, so the shares add up
exactly), then split per rate into tax excluded and tax by the invoice's own
formula. Returns against one invoice never add up to more than its total.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from billing.errors import CreditExceedsInvoice, InvalidRequest, InvoiceReplaced
from billing.invoicing.invoice import Invoice, InvoiceLine, TaxSummary, consumption_tax
from billing.invoicing.numbers import CREDIT_NOTE_SERIES, parse_document_number
from billing.vocabulary import DocumentKind


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


def return_invoice(
    original: Invoice,
    number: str,
    issued_on: date,
    amount: int,
    reason: str,
    *,
    already_returned: int = 0,
) -> Invoice:
    """The return invoice giving back ``amount`` yen (tax included) of ``original``, after ``already_returned``."""
    series, month, _ = parse_document_number(number)
    if series != CREDIT_NOTE_SERIES or month != original.month:
        raise ValueError(f"a return invoice of {original.month} is numbered CN-{original.month.replace('-', '')}-…")
    if original.kind == DocumentKind.CREDIT_NOTE:
        raise InvalidRequest(f"{original.invoice_number} is a return invoice: return against the invoice it names")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidRequest(f"amount must be a positive integer of yen, got {amount!r}")
    if not reason.strip():
        raise InvalidRequest("a return needs its reason")
    if issued_on < original.issued_on:
        raise InvalidRequest(f"a return cannot be issued before its invoice ({original.issued_on})")
    if already_returned + amount > original.total:
        raise CreditExceedsInvoice(original.invoice_number, amount, original.total - already_returned)
    shares = apportion(amount, [rate.subtotal + rate.tax for rate in original.tax_summary])
    lines, rates = [], []
    for rate, share in zip(original.tax_summary, shares, strict=True):
        if share == 0:
            continue
        base, tax = split_tax_included(share, rate.rate_percent, original.tax_rounding)
        if base > rate.subtotal or tax > rate.tax:
            raise CreditExceedsInvoice(original.invoice_number, amount, original.total - already_returned)
        lines.append(
            InvoiceLine(
                code=f"return:{original.invoice_number}",
                description=f"{original.invoice_number} ご請求分の返還",
                detail=f"{rate.rate_percent}%対象",
                amount=base,
                tax_rate_percent=rate.rate_percent,
            )
        )
        rates.append(TaxSummary(rate.rate_percent, base, tax))
    return replace(
        original,
        invoice_number=number,
        issued_on=issued_on,
        due_on=None,
        debit_on=None,
        lines=tuple(lines),
        tax_summary=tuple(rates),
        final=False,
        kind=DocumentKind.CREDIT_NOTE,
        replaces=original.invoice_number,
        replaces_issued_on=original.issued_on,
        reason=reason,
    )


def check_correctable(original: Invoice, status: str) -> None:
    """Only the month's current invoice may be corrected or returned against."""
    if status == "replaced":
        raise InvoiceReplaced(original.invoice_number)
    if original.kind == DocumentKind.CREDIT_NOTE:
        raise InvalidRequest(f"{original.invoice_number} is a return invoice; act on the invoice it names")
    if status != "issued":
        raise InvalidRequest(f"{original.invoice_number} is not issued yet")
