"""An account's billing profile: plan, options, how it pays and how its
invoices are delivered, and who receives them.

The profile is what the platform PUTs; the invoice takes a snapshot of the
billing contact when it is issued, so later changes never alter an issued
invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

from billing.contracts.payment_details import DebitAccount
from billing.errors import InvalidRequest
from billing.tariff import Tariff
from billing.vocabulary import DeliveryMethod, PaymentMethod


@dataclass(frozen=True)
class BillingContact:
    company_name: str
    postal_code: str
    address: str
    email: str
    phone: str
    department: str | None = None
    person_name: str | None = None
    # 法人番号 (13 digits, check digit first): the buyer's Peppol address and legal id on the e-invoice.
    corporate_number: str | None = None

    @property
    def recipient(self) -> str:
        """The invoice's addressee: 様 for a named person, 御中 for a company or department."""
        parts = [self.company_name, self.department or ""]
        if self.person_name:
            return " ".join(p for p in [*parts, self.person_name] if p) + " 様"
        return " ".join(p for p in parts if p) + " 御中"

    def as_json(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class AccountProfile:
    account_id: str
    plan: str
    options: tuple[str, ...]
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    contract_start: date
    billing_contact: BillingContact
    contract_end: date | None = None  # the last day billed; counts after it are refused
    debit_account: DebitAccount | None = None  # the account a direct debit draws on; only with direct_debit
    # The name a bank-transfer account's payments arrive under, in the bank's form (matching transfers).
    payer_name_kana: str | None = None
    # Whether the customer gets the emails that say the month's peak neared or entered a higher fee bracket.
    usage_alerts: bool = True

    @classmethod
    def create(
        cls,
        account_id: str,
        *,
        plan: str,
        options: Iterable[str],
        payment_method: PaymentMethod,
        delivery_method: DeliveryMethod,
        contract_start: date,
        billing_contact: BillingContact,
        tariff: Tariff,
        debit_account: DebitAccount | None = None,
        payer_name_kana: str | None = None,
        usage_alerts: bool = True,
    ) -> AccountProfile:
        """A new profile (typed by the edge: ``AccountIn.as_profile``); the tariff must know its plan and options."""
        options = tuple(options)
        tariff.check_terms(contract_start.isoformat()[:7], plan, options)
        check_payment_details(payment_method, debit_account)
        return cls(
            account_id=account_id,
            plan=plan,
            options=options,
            payment_method=payment_method,
            delivery_method=delivery_method,
            contract_start=contract_start,
            billing_contact=billing_contact,
            debit_account=debit_account,
            payer_name_kana=payer_name_kana,
            usage_alerts=usage_alerts,
        )

    @classmethod
    def from_json(cls, account_id: str, body: dict) -> AccountProfile:
        """Rebuild a stored profile (already validated when it was stored); one stored before ``usage_alerts``
        existed has them on, as a new account does unless it asks otherwise."""
        end = body.get("contract_end")
        return cls(
            account_id=account_id,
            plan=body["plan"],
            options=tuple(body["options"]),
            payment_method=PaymentMethod(body["payment_method"]),
            delivery_method=DeliveryMethod(body["delivery_method"]),
            contract_start=date.fromisoformat(body["contract_start"]),
            billing_contact=BillingContact(**body["billing_contact"]),
            contract_end=date.fromisoformat(end) if end else None,
            debit_account=DebitAccount.from_json(body["debit_account"]) if body.get("debit_account") else None,
            payer_name_kana=body.get("payer_name_kana"),
            usage_alerts=body.get("usage_alerts", True),
        )

    def is_active_in(self, month: str) -> bool:
        return contract_covers(month, self.contract_start.isoformat(), _iso(self.contract_end))

    def as_json(self) -> dict:
        """The profile as stored: the debit account whole (``shown`` masks it for every answer)."""
        body = {
            "account_id": self.account_id,
            "plan": self.plan,
            "options": list(self.options),
            "payment_method": self.payment_method,
            "delivery_method": self.delivery_method,
            "contract_start": self.contract_start.isoformat(),
            "billing_contact": self.billing_contact.as_json(),
            "usage_alerts": self.usage_alerts,
        }
        if self.contract_end:
            body["contract_end"] = self.contract_end.isoformat()
        if self.debit_account:
            body["debit_account"] = self.debit_account.as_json()
        if self.payer_name_kana:
            body["payer_name_kana"] = self.payer_name_kana
        return body

    def shown(self) -> dict:
        """The profile as an answer shows it: the debit account's number masked."""
        body = self.as_json()
        if self.debit_account:
            body["debit_account"] = self.debit_account.shown()
        return body


def check_payment_details(payment_method: PaymentMethod, debit_account: DebitAccount | None) -> None:
    """A new direct debit needs the account it draws on; a bank transfer has none. (An account stored before
    debit accounts were kept may have none: its debit runs skip it as ``no_debit_account``.)"""
    if payment_method == PaymentMethod.DIRECT_DEBIT and debit_account is None:
        raise InvalidRequest("debit_account is required with payment_method direct_debit")
    if payment_method == PaymentMethod.BANK_TRANSFER and debit_account is not None:
        raise InvalidRequest("debit_account is only for payment_method direct_debit")


def contract_covers(month: str, contract_start: str, contract_end: str | None) -> bool:
    """Billed for the month: the contract covers at least one of its days.

    The last month of a contract is billed as usual; a contract that ended
    before the month started is not.
    """
    return contract_start[:7] <= month and (contract_end is None or contract_end[:7] >= month)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
