"""An account's billing profile: plan, options, how it pays and how its
invoices are delivered, and who receives them.

The profile is what the platform PUTs; the invoice takes a snapshot of the
billing contact when it is issued, so later changes never alter an issued
invoice.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from billing import validation
from billing.errors import InvalidRequest
from billing.tariff import Tariff

PAYMENT_METHODS = ("bank_transfer", "direct_debit")  # 振込 / 口座振替
DELIVERY_METHODS = ("web", "postal")  # WEB明細 / 郵送

POSTAL_CODE = re.compile(r"^\d{3}-\d{4}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9-]{5,19}$")


@dataclass(frozen=True)
class BillingContact:
    company_name: str
    postal_code: str
    address: str
    email: str
    phone: str
    department: str | None = None
    person_name: str | None = None

    @classmethod
    def parse(cls, body: object) -> BillingContact:
        body = validation.require_object(
            body,
            {"company_name", "postal_code", "address", "email", "phone"},
            optional={"department", "person_name"},
            where="billing_contact",
        )
        optional = {
            key: validation.text(body[key], f"billing_contact.{key}", max_length=100)
            for key in ("department", "person_name")
            if body.get(key) is not None
        }
        return cls(
            company_name=validation.text(body["company_name"], "billing_contact.company_name", max_length=100),
            postal_code=validation.text(
                body["postal_code"], "billing_contact.postal_code", POSTAL_CODE, hint="NNN-NNNN, e.g. 100-0005"
            ),
            address=validation.text(body["address"], "billing_contact.address", max_length=200),
            email=validation.text(
                body["email"], "billing_contact.email", EMAIL, max_length=254, hint="an email address"
            ),
            phone=validation.text(body["phone"], "billing_contact.phone", PHONE, max_length=20, hint="digits and '-'"),
            **optional,
        )

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
    payment_method: str
    delivery_method: str
    contract_start: date
    billing_contact: BillingContact
    contract_end: date | None = None  # the last day billed; counts after it are refused

    FIELDS = frozenset({"plan", "options", "payment_method", "delivery_method", "contract_start", "billing_contact"})

    @classmethod
    def parse(cls, account_id: str, body: object, tariff: Tariff) -> AccountProfile:
        account_id = validation.account_id(account_id)
        body = validation.require_object(body, set(cls.FIELDS), optional={"contract_end"})
        plan = validation.text(body["plan"], "plan", max_length=64)
        if not tariff.knows_plan(plan):
            raise InvalidRequest(f"plan {plan!r} is not in the tariff")
        options = body["options"]
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise InvalidRequest("options must be an array of option names")
        if len(set(options)) != len(options):
            raise InvalidRequest("options must not repeat an option")
        unknown = [o for o in options if not tariff.knows_option(o)]
        if unknown:
            raise InvalidRequest(f"option(s) {', '.join(map(repr, unknown))} not in the tariff")
        start = validation.iso_date(body["contract_start"], "contract_start")
        end = None
        if body.get("contract_end") is not None:
            end = validation.iso_date(body["contract_end"], "contract_end")
            if end < start:
                raise InvalidRequest("contract_end must not be before contract_start")
        return cls(
            account_id=account_id,
            plan=plan,
            options=tuple(options),
            payment_method=validation.one_of(body["payment_method"], "payment_method", PAYMENT_METHODS),
            delivery_method=validation.one_of(body["delivery_method"], "delivery_method", DELIVERY_METHODS),
            contract_start=start,
            billing_contact=BillingContact.parse(body["billing_contact"]),
            contract_end=end,
        )

    @classmethod
    def from_json(cls, account_id: str, body: dict) -> AccountProfile:
        """Rebuild a stored profile (already validated when it was stored)."""
        end = body.get("contract_end")
        return cls(
            account_id=account_id,
            plan=body["plan"],
            options=tuple(body["options"]),
            payment_method=body["payment_method"],
            delivery_method=body["delivery_method"],
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
