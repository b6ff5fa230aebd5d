"""What an e-invoice says, before it is XML: a neutral document and the adapters that make one.

The UBL renderer (``billing.invoicing.einvoice.ubl``) knows nothing of ``Invoice``. It
renders an ``EDocument``: two parties, lines, per-rate totals, how to pay and
the documents it refers to. Two adapters make one:

* ``document_of_invoice``: an invoice or a correction (修正した適格請求書),
  exactly as issued; a correction names the invoice it replaces (number and
  issue date) and says why in a note (訂正の理由).
  A return invoice (適格返還請求書, ``billing.invoicing.returns``) is a
  negative document that returns part or all of an invoice's amount and names it.

Amounts are int yen with their sign: a return's lines and totals are
negative. A unit price is never negative (PINT ibr-027), so a returned line is
quantity -1 at a positive price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billing.contracts.accounts import BillingContact
from billing.invoicing.invoice import Invoice
from billing.invoicing.issuer import BankAccount, Issuer
from billing.invoicing.returns import NOTHING_RETURNED, Returned, return_invoice
from billing.vocabulary import PAYMENT_LABELS, DocumentKind

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
    # 法人番号: the party's Peppol endpoint and legal id (scheme 0188). The supplier always has one; a customer
    # has one when its billing contact gives it, and without it the document has no buyer address (ibr-080).
    corporate_number: str | None = None
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
    mandate: str | None = None  # a debit's mandate reference (ibt-089): the customer number
    debited_account: str | None = None  # the account debited (ibt-091), masked


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
        corporate_number=contact.corporate_number,
    )


def document_of_invoice(invoice: Invoice) -> EDocument:
    """Any document as issued: the same numbers, dates, parties, lines and per-rate totals as its PDF.

    A return invoice is a negative invoice: each line quantity -1 at its (positive) price, negative per-rate
    totals, no payment, and the invoice it returns against, with its issue date, in ``BillingReference``.
    """
    returning = invoice.kind == DocumentKind.CREDIT_NOTE
    sign = -1 if returning else 1
    if returning:
        payment = None
        references = (Reference(invoice.replaces, invoice.replaces_issued_on),)
        notes = (f"返還理由: {invoice.reason}",)
    else:
        if invoice.payment_method == "bank_transfer":
            payment = Payment(
                PaymentMeans.CREDIT_TRANSFER, PAYMENT_LABELS["bank_transfer"], invoice.due_on, invoice.issuer.bank
            )
        else:
            payment = Payment(
                PaymentMeans.DIRECT_DEBIT,
                PAYMENT_LABELS["direct_debit"],
                invoice.debit_on,
                mandate=invoice.customer_number,
                debited_account=invoice.debited_account,
            )
        if invoice.replaces is None:
            references, notes = (), ()
        else:
            references = (Reference(invoice.replaces, invoice.replaces_issued_on),)
            notes = (f"訂正理由: {invoice.reason}",) if invoice.reason else ()
        if invoice.final:
            notes = ("最終請求", *notes)
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
                name=f"{line.description} ({invoice.reason})" if returning else line.description,
                description=line.detail,
                quantity=sign,
                unit_code=PIECE_UNIT if returning else MONTH_UNIT,
                unit_price=line.amount,
                tax_rate_percent=line.tax_rate_percent,
            )
            for n, line in enumerate(invoice.lines, start=1)
        ),
        rates=tuple(
            RateTotal(rate.rate_percent, sign * rate.subtotal, sign * rate.tax) for rate in invoice.tax_summary
        ),
        payment=payment,
        references=references,
        notes=notes,
        currency=invoice.currency,
    )


def return_against(
    original: Invoice,
    number: str,
    issued_on: date,
    amount: int,
    reason: str,
    *,
    returned: Returned = NOTHING_RETURNED,
) -> EDocument:
    """The e-invoice of the return invoice ``billing.invoicing.returns.return_invoice`` makes."""
    return document_of_invoice(return_invoice(original, number, issued_on, amount, reason, returned=returned))
