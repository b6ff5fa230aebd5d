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
    ) -> AccountProfile:
        """A new profile (typed by the edge: ``AccountIn.as_profile``); the tariff must know its plan and options."""
        options = tuple(options)
        tariff.check_terms(contract_start.isoformat()[:7], plan, options)
        return cls(
            account_id=account_id,
            plan=plan,
            options=options,
            payment_method=payment_method,
            delivery_method=delivery_method,
            contract_start=contract_start,
            billing_contact=billing_contact,
        )

    @classmethod
    def from_json(cls, account_id: str, body: dict) -> AccountProfile:
        """Rebuild a stored profile (already validated when it was stored)."""
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
        )

    def is_active_in(self, month: str) -> bool:
        return contract_covers(month, self.contract_start.isoformat(), _iso(self.contract_end))

    def as_json(self) -> dict:
        body = {
            "account_id": self.account_id,
            "plan": self.plan,
            "options": list(self.options),
            "payment_method": self.payment_method,
            "delivery_method": self.delivery_method,
            "contract_start": self.contract_start.isoformat(),
            "billing_contact": self.billing_contact.as_json(),
        }
        if self.contract_end:
            body["contract_end"] = self.contract_end.isoformat()
        return body


def contract_covers(month: str, contract_start: str, contract_end: str | None) -> bool:
    """Billed for the month: the contract covers at least one of its days.

    The last month of a contract is billed as usual; a contract that ended
    before the month started is not.
    """
    return contract_start[:7] <= month and (contract_end is None or contract_end[:7] >= month)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
