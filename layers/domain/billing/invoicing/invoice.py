"""The qualified invoice (適格請求書) as data.

An invoice is built once, when its month closes, from four inputs: the
account's profile, the month's usage, the tariff in force for that month and
the issuer. It snapshots everything it shows (recipient, usage, prices,
issuer), because an issued invoice is kept unchanged for 10 years
(電子帳簿保存法): later edits to the profile, tariff or issuer file must never
change it, and re-rendering its PDF must give the same bytes.

Money is int yen. Consumption tax is computed once per invoice per tax rate
from that rate's subtotal, never per line and summed: the qualified-invoice
rules allow only one rounding per rate per invoice.

``Invoice.as_record`` gives a DynamoDB-ready dict (str, int, bool, None, list,
dict; no float) and ``Invoice.from_record`` rebuilds the same invoice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from billing import bank_calendar, months
from billing.contracts.accounts import AccountProfile, BillingContact
from billing.invoicing.issuer import Issuer
from billing.invoicing.numbers import parse_invoice_number
from billing.japanese import jp_date, jp_month, yen  # noqa: F401  (re-exported: moved to billing.japanese)
from billing.tariff import Tariff, TariffError
from billing.usage.counts import MonthUsage
from billing.vocabulary import DocumentKind

CURRENCY = "JPY"
ROUNDING_LABELS = {"down": "切り捨て", "half_up": "四捨五入", "up": "切り上げ"}


def consumption_tax(amount: int, rate_percent: int, rounding: str = "down") -> int:
    """Tax on ``amount`` yen at ``rate_percent``, rounded to whole yen.

    Integer arithmetic only. ``down`` is 切り捨て (the default and the common
    practice), ``half_up`` 四捨五入, ``up`` 切り上げ. A negative amount (a
    credit) is rounded by magnitude, so a credit mirrors the charge it undoes.
    """
    scaled = abs(amount) * rate_percent  # tax x 100
    if rounding == "down":
        tax = scaled // 100
    elif rounding == "half_up":
        tax = (scaled + 50) // 100
    elif rounding == "up":
        tax = -(-scaled // 100)
    else:
        raise ValueError(f"unknown tax rounding {rounding!r}")
    return tax if amount >= 0 else -tax


@dataclass(frozen=True)
class InvoiceLine:
    code: str  # plan:<code> or option:<code>
    description: str  # what the customer reads, in Japanese
    detail: str  # quantity / period text, e.g. 1ヶ月
    amount: int  # yen, tax excluded
    tax_rate_percent: int


@dataclass(frozen=True)
class TaxSummary:
    """One tax rate's totals (税率ごとに区分した対価の額と消費税額)."""

    rate_percent: int
    subtotal: int  # tax excluded
    tax: int  # rounded once for the whole invoice


@dataclass(frozen=True)
class DailyHigh:
    date: str  # YYYY-MM-DD, Asia/Tokyo
    high: int


@dataclass(frozen=True)
class UsageSnapshot:
    """The month's record counts as billed: the peak sets the bracket."""

    peak: int
    peak_observed_at: str | None  # ISO 8601 in Asia/Tokyo; None if nothing was ever reported
    opening_count: int
    bracket: int
    bracket_low: int
    bracket_high: int
    daily: tuple[DailyHigh, ...]

    def as_record(self) -> dict:
        return {**asdict(self), "daily": [asdict(day) for day in self.daily]}

    @classmethod
    def from_record(cls, record: dict) -> UsageSnapshot:
        return cls(**{**record, "daily": tuple(DailyHigh(**day) for day in record["daily"])})


@dataclass(frozen=True)
class Invoice:
    invoice_number: str
    account_id: str
    month: str  # the transaction period, YYYY-MM
    period_start: date  # 取引期間
    period_end: date
    issued_on: date  # 発行日: the 1st of the next month
    payment_method: str
    delivery_method: str
    due_on: date | None  # 振込期限, bank_transfer only
    debit_on: date | None  # 口座振替日, direct_debit only
    plan: str
    tariff_version: str  # effective_from of the tariff version applied
    recipient: BillingContact  # as it stood at issue
    recipient_line: str  # 宛名, ending in 御中 or 様
    usage: UsageSnapshot
    lines: tuple[InvoiceLine, ...]
    tax_summary: tuple[TaxSummary, ...]  # one per tax rate, highest rate first
    tax_rounding: str
    issuer: Issuer  # as it stood at issue
    currency: str = CURRENCY
    replaces: str | None = None  # the number of the invoice a correction replaces, or a return invoice returns against
    final: bool = False  # 最終請求: the contract's last month
    kind: DocumentKind = DocumentKind.INVOICE
    reason: str | None = None  # why a correction or return invoice was made, as the operator gave it
    replaces_issued_on: date | None = None  # the issue date of the document named in ``replaces``
    customer_number: str | None = None  # お客様番号: a transfer's payer gives it; a debit's mandate is named by it
    debited_account: str | None = None  # a debit invoice's account, masked (****567), as the mandate names it

    @property
    def subtotal(self) -> int:
        """Total before tax: the sum of the lines."""
        return sum(rate.subtotal for rate in self.tax_summary)

    @property
    def tax(self) -> int:
        return sum(rate.tax for rate in self.tax_summary)

    @property
    def pay_by(self) -> date | None:
        """When the money is due: the transfer's due date, or the debit date (a return invoice has neither)."""
        return self.due_on or self.debit_on

    @property
    def total(self) -> int:
        """合計 (税込)."""
        return self.subtotal + self.tax

    def as_record(self) -> dict:
        """A DynamoDB-ready dict. Totals are included for search by amount."""
        return {
            "invoice_number": self.invoice_number,
            "account_id": self.account_id,
            "month": self.month,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "issued_on": self.issued_on.isoformat(),
            "payment_method": self.payment_method,
            "delivery_method": self.delivery_method,
            "due_on": _iso(self.due_on),
            "debit_on": _iso(self.debit_on),
            "plan": self.plan,
            "tariff_version": self.tariff_version,
            "recipient": {**asdict(self.recipient), "line": self.recipient_line},
            "usage": self.usage.as_record(),
            "lines": [asdict(line) for line in self.lines],
            "tax_summary": [asdict(rate) for rate in self.tax_summary],
            "tax_rounding": self.tax_rounding,
            "subtotal": self.subtotal,
            "tax": self.tax,
            "total": self.total,
            "currency": self.currency,
            "issuer": self.issuer.as_record(),
            "replaces": self.replaces,
            "final": self.final,
            "kind": self.kind,
            "reason": self.reason,
            "replaces_issued_on": _iso(self.replaces_issued_on),
            **({"customer_number": self.customer_number} if self.customer_number else {}),
            **({"debited_account": self.debited_account} if self.debited_account else {}),
        }

    @classmethod
    def from_record(cls, record: dict) -> Invoice:
        """Rebuild a stored invoice; refuses one whose stored totals disagree with its lines."""
        contact = dict(record["recipient"])
        line = contact.pop("line")
        invoice = cls(
            invoice_number=record["invoice_number"],
            account_id=record["account_id"],
            month=record["month"],
            period_start=date.fromisoformat(record["period_start"]),
            period_end=date.fromisoformat(record["period_end"]),
            issued_on=date.fromisoformat(record["issued_on"]),
            payment_method=record["payment_method"],
            delivery_method=record["delivery_method"],
            due_on=_date_or_none(record["due_on"]),
            debit_on=_date_or_none(record["debit_on"]),
            plan=record["plan"],
            tariff_version=record["tariff_version"],
            recipient=BillingContact(**contact),
            recipient_line=line,
            usage=UsageSnapshot.from_record(record["usage"]),
            lines=tuple(InvoiceLine(**item) for item in record["lines"]),
            tax_summary=tuple(TaxSummary(**rate) for rate in record["tax_summary"]),
            tax_rounding=record["tax_rounding"],
            issuer=Issuer.from_record(record["issuer"]),
            currency=record["currency"],
            replaces=record.get("replaces"),
            final=record.get("final", False),
            kind=DocumentKind(record.get("kind", DocumentKind.INVOICE)),
            reason=record.get("reason"),
            replaces_issued_on=_date_or_none(record.get("replaces_issued_on")),
            customer_number=record.get("customer_number"),
            debited_account=record.get("debited_account"),
        )
        stored = (record["subtotal"], record["tax"], record["total"])
        if stored != (invoice.subtotal, invoice.tax, invoice.total):
            raise ValueError(f"invoice {invoice.invoice_number}: stored totals {stored} do not match its lines")
        return invoice


def build_invoice(
    number: str,
    profile: AccountProfile,
    usage: MonthUsage,
    tariff: Tariff,
    issuer: Issuer,
    *,
    replaces: Invoice | None = None,
    issued_on: date | None = None,
    reason: str | None = None,
    customer_number: str | None = None,
) -> Invoice:
    """The qualified invoice for one account's closed month. Pure: same inputs, same invoice.

    ``customer_number`` (お客様番号) is printed on a transfer invoice and names a debit invoice's mandate.

    With ``replaces``, a corrected invoice (修正した適格請求書): dated ``issued_on`` (the day it is made), naming
    the original and why; it takes the next number of the month's series.
    """
    if profile.account_id != usage.account_id:
        raise ValueError(f"profile is for {profile.account_id!r} but usage is for {usage.account_id!r}")
    month = usage.month
    if parse_invoice_number(number)[0] != month:
        raise ValueError(f"invoice number {number} does not belong to month {month}")
    peak = usage.peak.count
    bracket = tariff.bracket_of(peak)
    low, high = tariff.bracket_range(bracket)
    lines = fee_lines(profile, month, peak, tariff)

    issued_on = issued_on or months.first_day(months.next_month(month))
    transfer = profile.payment_method == "bank_transfer"
    return Invoice(
        invoice_number=number,
        account_id=profile.account_id,
        month=month,
        period_start=months.first_day(month),
        period_end=months.last_day(month),
        issued_on=issued_on,
        payment_method=profile.payment_method,
        delivery_method=profile.delivery_method,
        due_on=bank_calendar.transfer_due_date(issued_on) if transfer else None,
        debit_on=None if transfer else bank_calendar.debit_date(issued_on),
        plan=profile.plan,
        tariff_version=tariff.for_month(month).effective_from,
        recipient=profile.billing_contact,
        recipient_line=profile.billing_contact.recipient,
        usage=UsageSnapshot(
            peak=peak,
            peak_observed_at=months.iso_tokyo(usage.peak_observed_at),
            opening_count=usage.opening_count,
            bracket=bracket,
            bracket_low=low,
            bracket_high=high,
            daily=tuple(DailyHigh(day.isoformat(), reading.count) for day, reading in sorted(usage.days.items())),
        ),
        lines=tuple(lines),
        tax_summary=summarise_tax(lines, tariff.rounding),
        tax_rounding=tariff.rounding,
        issuer=issuer,
        currency=tariff.currency,
        replaces=replaces.invoice_number if replaces else None,
        final=profile.contract_end is not None and profile.contract_end.isoformat()[:7] == month,
        kind=DocumentKind.CORRECTION if replaces else DocumentKind.INVOICE,
        reason=reason,
        replaces_issued_on=replaces.issued_on if replaces else None,
        customer_number=customer_number,
        debited_account=None if transfer or profile.debit_account is None else profile.debit_account.masked_number,
    )


def fee_lines(profile: AccountProfile, month: str, peak: int, tariff: Tariff) -> list[InvoiceLine]:
    """The month's charges for a peak under ``profile``'s terms: the plan's fee for the peak's bracket, then each
    option's monthly fee. The invoice bills these, and the running estimate adds up the same."""
    version = tariff.for_month(month)
    if profile.plan not in version.plans:
        raise TariffError(f"plan {profile.plan!r} is not in the tariff version effective from {version.effective_from}")
    plan = version.plans[profile.plan]
    rate = tariff.tax_rate_percent
    bracket = tariff.bracket_of(peak)
    low, high = tariff.bracket_range(bracket)
    lines = [
        InvoiceLine(
            code=f"plan:{plan.code}",
            description=f"{plan.name} 利用料 ({low:,}〜{high:,}件, ピーク {peak:,}件)",
            detail="1ヶ月",
            amount=plan.fee(bracket),
            tax_rate_percent=rate,
        )
    ]
    for code in profile.options:
        if code not in version.options:
            raise TariffError(f"option {code!r} is not in the tariff version effective from {version.effective_from}")
        option = version.options[code]
        lines.append(InvoiceLine(f"option:{code}", f"{option.name} 月額", "1ヶ月", option.monthly_fee, rate))
    return lines


def summarise_tax(lines: list[InvoiceLine] | tuple[InvoiceLine, ...], rounding: str) -> tuple[TaxSummary, ...]:
    """Subtotal and tax per rate, highest rate first; the tax is rounded once per rate."""
    subtotals: dict[int, int] = {}
    for line in lines:
        subtotals[line.tax_rate_percent] = subtotals.get(line.tax_rate_percent, 0) + line.amount
    return tuple(
        TaxSummary(rate, subtotal, consumption_tax(subtotal, rate, rounding))
        for rate, subtotal in sorted(subtotals.items(), reverse=True)
    )


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _date_or_none(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
