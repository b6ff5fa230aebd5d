"""What an e-invoice says, before it is XML: a neutral document and the adapters that make one.

The UBL renderer (``billing.invoicing.einvoice.ubl``) knows nothing of ``Invoice``. It
renders an ``EDocument``: two parties, lines, per-rate totals, how to pay and
the documents it refers to. Two adapters make one:

* ``document_of_invoice``: an invoice or a correction (修正した適格請求書),
  exactly as issued; a correction names the invoice it replaces.
* ``return_against``: a return invoice (適格返還請求書): a negative document
  that returns part or all of an invoice's amount and names it.

Amounts are int yen with their sign: a return's lines and totals are
negative. A unit price is never negative (PINT ibr-27), so a returned line is
quantity -1 at a positive price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing.contracts.accounts import BillingContact
from billing.invoicing.invoice import PAYMENT_LABELS, Invoice, consumption_tax
from billing.invoicing.issuer import BankAccount, Issuer

# CN-YYYYMM-NNNNNNN: the return invoice's own series (month of issue, 7-digit sequence).
_RETURN_NUMBER = re.compile(r"^CN-[0-9]{4}(0[1-9]|1[0-2])-[0-9]{7}\Z")

JAPAN = "JP"
# Peppol's scheme for the Japanese corporate number (法人番号), the 13 digits after the T.
CORPORATE_NUMBER_SCHEME = "0188"
MONTH_UNIT = "MON"  # UN/ECE Rec 20: one month, the fee's period
PIECE_UNIT = "C62"  # UN/ECE Rec 20: one (a returned amount)


class PaymentMeans(StrEnum):
    """UNCL 4461 codes for how the invoice is paid."""

    CREDIT_TRANSFER = "30"  # 銀行振込: the customer pays into the issuer's account
    DIRECT_DEBIT = "49"  # 口座振替: the issuer collects on the debit date


@dataclass(frozen=True)
class Party:
    name: str  # the legal name (PartyLegalEntity/RegistrationName)
    postal_code: str
    address: str  # as one line: Japanese addresses do not split into street and city cleanly
    tax_id: str | None = None  # 登録番号 T + 13 digits (the supplier's; a customer's is not kept)
    corporate_number: str | None = None  # 法人番号, the supplier's Peppol endpoint
    contact_name: str | None = None  # department and person, as the invoice is addressed
    phone: str | None = None
    email: str | None = None
    country: str = JAPAN


@dataclass(frozen=True)
class Line:
    line_id: str  # 1, 2, ... in the invoice's order
    item_code: str  # plan:<code> / option:<code>
    name: str  # what the customer reads
    description: str  # quantity / period text, e.g. 1ヶ月
    quantity: int  # 1, or -1 on a return
    unit_code: str
    unit_price: int  # yen, tax excluded, never negative
    tax_rate_percent: int

    @property
    def amount(self) -> int:
        """Line net amount (tax excluded); negative on a return."""
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class RateTotal:
    """One tax rate's breakdown: taxable amount and its tax, rounded once."""

    rate_percent: int
    taxable: int
    tax: int


@dataclass(frozen=True)
class Payment:
    means: PaymentMeans
    label: str  # 銀行振込 / 口座振替, what the PDF calls it
    due_on: date  # 振込期限 or 口座振替日
    bank: BankAccount | None = None  # where a transfer goes


@dataclass(frozen=True)
class Reference:
    """A preceding invoice this document corrects or returns against."""

    number: str
    issued_on: date | None = None


@dataclass(frozen=True)
class EDocument:
    number: str
    issued_on: date
    period_start: date
    period_end: date
    buyer_reference: str  # the customer's account id (お客様ID)
    supplier: Party
    customer: Party
    lines: tuple[Line, ...]
    rates: tuple[RateTotal, ...]  # highest rate first
    payment: Payment | None = None  # None on a return: nothing is due
    references: tuple[Reference, ...] = ()
    notes: tuple[str, ...] = ()
    currency: str = "JPY"

    def __post_init__(self) -> None:
        # A document whose totals do not add up must never reach the renderer.
        for rate in self.rates:
            lines = sum(line.amount for line in self.lines if line.tax_rate_percent == rate.rate_percent)
            if lines != rate.taxable:
                raise ValueError(f"{self.number}: lines at {rate.rate_percent}% add up to {lines}, not {rate.taxable}")
        if {line.tax_rate_percent for line in self.lines} != {rate.rate_percent for rate in self.rates}:
            raise ValueError(f"{self.number}: every line's tax rate needs exactly one rate total")
        if any(line.unit_price < 0 for line in self.lines):
            raise ValueError(f"{self.number}: a unit price is never negative; negate the quantity")

    @property
    def line_total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def tax_total(self) -> int:
        return sum(rate.tax for rate in self.rates)

    @property
    def tax_inclusive(self) -> int:
        return self.line_total + self.tax_total


def supplier_of(issuer: Issuer) -> Party:
    return Party(
        name=issuer.name,
        postal_code=issuer.postal_code,
        address=issuer.address,
        tax_id=issuer.registration_number,
        corporate_number=issuer.registration_number[1:],
        phone=issuer.phone,
    )


def customer_of(contact: BillingContact) -> Party:
    person = " ".join(part for part in (contact.department, contact.person_name) if part)
    return Party(
        name=contact.company_name,
        postal_code=contact.postal_code,
        address=contact.address,
        contact_name=person or None,
        phone=contact.phone,
        email=contact.email,
    )


def document_of_invoice(invoice: Invoice) -> EDocument:
    """An invoice or a correction as issued: the same numbers, dates, parties, lines and per-rate totals as its PDF."""
    if invoice.payment_method == "bank_transfer":
        payment = Payment(
            PaymentMeans.CREDIT_TRANSFER, PAYMENT_LABELS["bank_transfer"], invoice.due_on, invoice.issuer.bank
        )
    else:
        payment = Payment(PaymentMeans.DIRECT_DEBIT, PAYMENT_LABELS["direct_debit"], invoice.debit_on)
    return EDocument(
        number=invoice.invoice_number,
        issued_on=invoice.issued_on,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        buyer_reference=invoice.account_id,
        supplier=supplier_of(invoice.issuer),
        customer=customer_of(invoice.recipient),
        lines=tuple(
            Line(
                line_id=str(n),
                item_code=line.code,
                name=line.description,
                description=line.detail,
                quantity=1,
                unit_code=MONTH_UNIT,
                unit_price=line.amount,
                tax_rate_percent=line.tax_rate_percent,
            )
            for n, line in enumerate(invoice.lines, start=1)
        ),
        rates=tuple(RateTotal(rate.rate_percent, rate.subtotal, rate.tax) for rate in invoice.tax_summary),
        payment=payment,
        references=() if invoice.replaces is None else (Reference(invoice.replaces),),
        notes=("最終請求",) if invoice.final else (),
        currency=invoice.currency,
    )


def split_tax_included(amount: int, rate_percent: int, rounding: str = "down") -> tuple[int, int]:
    """(tax excluded, tax) that add up to ``amount`` yen, tax included, at one rate.

    The split is the one the invoice's own formula gives: ``tax =
    consumption_tax(base, rate, rounding)`` with ``base + tax = amount``. At
    10% rounded down that is ``tax = floor(amount x 10 / 110)`` for most
    amounts. It is unique when it exists, so returning an invoice's whole
    per-rate total gives back exactly its subtotal and tax. Some amounts have
    no such split (at 10%, ¥10: ¥9 + ¥0 = ¥9 and ¥10 + ¥1 = ¥11); those
    round the tax up by one yen instead, which keeps it within the floor and
    the ceiling of base x rate that jp-br-co-01 allows.
    """
    if amount < 0:
        raise ValueError(f"amount must be positive yen, got {amount}")
    low = amount * rate_percent // (100 + rate_percent)  # floor of the tax inside amount
    for tax in (low, low + 1):
        if consumption_tax(amount - tax, rate_percent, rounding) == tax:
            return amount - tax, tax
    for tax in (low, low + 1):  # no exact split: the one jp-br-co-01 accepts
        scaled = (amount - tax) * rate_percent
        if scaled // 100 <= tax <= -(-scaled // 100):
            return amount - tax, tax
    raise AssertionError(f"no split of {amount} at {rate_percent}%")  # unreachable: low + 1 always fits


def return_against(
    original: Invoice,
    number: str,
    issued_on: date,
    amount: int,
    reason: str,
    *,
    already_returned: int = 0,
) -> EDocument:
    """A return invoice (適格返還請求書) giving back ``amount`` yen, tax included, of ``original``.

    The amount is spread over the original's tax rates in proportion to each
    rate's total with tax (largest remainder, so the shares add up exactly),
    then split into tax excluded and tax per rate by ``split_tax_included``:
    the tax is rounded once per rate, never per line. ``already_returned`` is
    what earlier returns against the same invoice gave back: together they
    may never exceed the invoice's total, and no rate's amounts ever exceed
    the invoice's own.
    """
    if not _RETURN_NUMBER.match(number):
        raise ValueError(f"a return invoice number looks like CN-202611-0000001, got {number!r}")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"the returned amount must be positive int yen, got {amount!r}")
    if not reason.strip():
        raise ValueError("a return needs its reason")
    if issued_on < original.issued_on:
        raise ValueError(f"a return cannot be issued before its invoice ({original.issued_on})")
    if already_returned + amount > original.total:
        raise ValueError(
            f"returning ¥{amount:,} after ¥{already_returned:,} would exceed the invoice's ¥{original.total:,}"
        )
    weights = [rate.subtotal + rate.tax for rate in original.tax_summary]
    shares = _apportion(amount, weights)
    rates, lines = [], []
    for rate, share in zip(original.tax_summary, shares, strict=True):
        if share == 0:
            continue
        base, tax = split_tax_included(share, rate.rate_percent, original.tax_rounding)
        if base > rate.subtotal or tax > rate.tax:
            raise ValueError(f"the return at {rate.rate_percent}% would exceed the invoice's amounts")
        rates.append(RateTotal(rate.rate_percent, -base, -tax))
        lines.append(
            Line(
                line_id=str(len(lines) + 1),
                item_code=f"return:{original.invoice_number}",
                name=f"{original.invoice_number} ご請求分の返還 ({reason})",
                description=f"{rate.rate_percent}%対象",
                quantity=-1,
                unit_code=PIECE_UNIT,
                unit_price=base,
                tax_rate_percent=rate.rate_percent,
            )
        )
    return EDocument(
        number=number,
        issued_on=issued_on,
        period_start=original.period_start,
        period_end=original.period_end,
        buyer_reference=original.account_id,
        supplier=supplier_of(original.issuer),
        customer=customer_of(original.recipient),
        lines=tuple(lines),
        rates=tuple(rates),
        references=(Reference(original.invoice_number, original.issued_on),),
        notes=(f"返還理由: {reason}",),
        currency=original.currency,
    )


def _apportion(amount: int, weights: list[int]) -> list[int]:
    """``amount`` split in proportion to ``weights``; the largest remainders take the leftover yen."""
    total = sum(weights)
    floors = [amount * weight // total for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[: amount - sum(floors)]:
        floors[i] += 1
    return floors
