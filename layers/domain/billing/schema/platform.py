"""The platform API's payloads: billing profiles, record counts, usage and change requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SkipValidation, StringConstraints, model_validator

from billing.contracts.accounts import AccountProfile, BillingContact
from billing.contracts.change_requests import ChangeRequest, Changes
from billing.contracts.payment_details import (
    AccountType,
    DebitAccount,
    MandateStatus,
    holder_kana_of,
    payer_name_kana_of,
)
from billing.invoicing.issuer import is_corporate_number
from billing.schema.fields import (
    AccountId,
    Count,
    Document,
    Email,
    IsoDate,
    Month,
    Payload,
    Timestamp,
    text,
)
from billing.schema.values import MAX_BATCH
from billing.tariff import Tariff
from billing.vocabulary import ChangeRequestStatus, DeliveryMethod, PaymentMethod

# A request body is checked strictly (no coercion), but an enum arrives as its JSON string.
Payment = Annotated[PaymentMethod, Field(strict=False, description="振込 (bank_transfer) or 口座振替 (direct_debit)")]
Delivery = Annotated[DeliveryMethod, Field(strict=False, description="WEB明細 (web) or 郵送 (postal)")]
PlanName = text(64, "a plan of the tariff in force for the month")
OptionName = text(64, "an option of the tariff in force for the month")

PostalCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}-[0-9]{4}$"), Field(examples=["100-0005"])]
Phone = Annotated[str, StringConstraints(max_length=20, pattern=r"^\+?[0-9][0-9-]{5,19}$")]
# The longest the PDF's 長3 envelope window holds, all four at once, full-width (invoice_pdf.render.address_block);
# longer is refused here rather than cut short on paper.
CONTACT_LIMITS = {"company_name": 50, "department": 40, "person_name": 30, "address": 80}
CompanyName = text(CONTACT_LIMITS["company_name"], "the recipient's company name, as printed in the envelope window")
Department = text(CONTACT_LIMITS["department"], "optional")
PersonName = text(
    CONTACT_LIMITS["person_name"], "optional; with a person the recipient line ends in 様, without one in 御中"
)
Address = text(CONTACT_LIMITS["address"], "the postal address, as printed in the envelope window")


def _check_digit(value: str) -> str:
    if not is_corporate_number(value):
        raise ValueError("corporate_number (法人番号) has a wrong check digit")
    return value


CorporateNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{13}$"),
    AfterValidator(_check_digit),
    Field(
        description="optional 法人番号: 13 ASCII digits, the first a check digit over the other twelve; "
        "the buyer's Peppol address (scheme 0188) on the e-invoice",
        examples=["7000012050002"],
    ),
]


def _distinct(options: list[str]) -> list[str]:
    if len(set(options)) != len(options):
        raise ValueError("options must not repeat an option")
    return options


Options = Annotated[list[OptionName], AfterValidator(_distinct)]


class BillingContactIn(Payload):
    company_name: CompanyName
    department: Department | None = None
    person_name: PersonName | None = None
    postal_code: PostalCode
    address: Address
    email: Email
    phone: Phone
    corporate_number: CorporateNumber | None = None

    def as_contact(self) -> BillingContact:
        return BillingContact(**self.model_dump(exclude_none=True))


Digits4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
Digits3 = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
AccountNumber = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{1,7}$"), Field(description="1 to 7 digits, stored zero-padded to 7")
]
Kana = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    Field(
        description="full- or half-width katakana, ASCII digits, upper-case Latin letters, space and ( ) . - /; "
        "stored in the bank's form: half-width, small kana written large, ー as -",
        examples=["ｶ)ｻﾝﾌﾟﾙｼｮｳｼﾞ"],
    ),
]
PayerNameKana = Annotated[Kana, AfterValidator(payer_name_kana_of), Field(description="at most 48 in the bank's form")]
HolderKana = Annotated[Kana, AfterValidator(holder_kana_of), Field(description="at most 30 in the bank's form")]
UsageAlerts = Annotated[
    bool,
    Field(
        description="whether the billing contact gets the emails (in Japanese) that say the month's peak record "
        "count neared or entered a higher fee bracket; JSON true or false"
    ),
]


class DebitAccountIn(Payload):
    """The account a direct debit draws on, as written on the customer's 口座振替依頼書."""

    bank_code: Digits4
    branch_code: Digits3
    account_type: Annotated[
        AccountType, Field(strict=False, description="普通 (ordinary), 当座 (current), 貯蓄 (savings)")
    ]
    account_number: AccountNumber
    holder_kana: HolderKana

    def as_account(self) -> DebitAccount:
        return DebitAccount.of(**self.model_dump(mode="json"))


class DebitAccountOut(Document):
    """The debit account as every answer shows it: the number masked (``****567``)."""

    bank_code: str
    branch_code: str
    account_type: AccountType
    account_number: Annotated[str, Field(examples=["****567"])]
    holder_kana: str


class AccountIn(Payload):
    """``PUT /v1/accounts/{account_id}``: a new billing profile. ``contract_end`` is set only by a cancellation."""

    plan: PlanName
    options: Options
    payment_method: Payment
    delivery_method: Delivery
    contract_start: IsoDate
    billing_contact: BillingContactIn
    debit_account: Annotated[
        DebitAccountIn | None, Field(description="required with direct_debit, refused with bank_transfer")
    ] = None
    payer_name_kana: Annotated[
        PayerNameKana | None, Field(description="optional: the name this account's bank transfers arrive under")
    ] = None
    usage_alerts: UsageAlerts = True

    @model_validator(mode="after")
    def _debit_account_with_direct_debit(self) -> AccountIn:
        if self.payment_method == PaymentMethod.DIRECT_DEBIT and self.debit_account is None:
            raise ValueError("debit_account is required with payment_method direct_debit")
        if self.payment_method == PaymentMethod.BANK_TRANSFER and self.debit_account is not None:
            raise ValueError("debit_account is only for payment_method direct_debit")
        return self

    def as_profile(self, account_id: str, tariff: Tariff) -> AccountProfile:
        """The new profile this body asks for; ``AccountProfile.create`` checks it against the tariff."""
        return AccountProfile.create(
            account_id,
            plan=self.plan,
            options=self.options,
            payment_method=self.payment_method,
            delivery_method=self.delivery_method,
            contract_start=self.contract_start,
            billing_contact=self.billing_contact.as_contact(),
            tariff=tariff,
            debit_account=self.debit_account.as_account() if self.debit_account else None,
            payer_name_kana=self.payer_name_kana,
            usage_alerts=self.usage_alerts,
        )


class ScheduledChangeOut(Document):
    effective_month: str
    changes: dict


class AccountOut(Document):
    """The terms in force for one month (the current Tokyo month unless ``?month=`` names one)."""

    account_id: str
    plan: str
    options: list[str]
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    contract_start: str
    billing_contact: BillingContactIn  # as it was given: every stored value passed these checks
    contract_end: str | None = None
    scheduled_changes: list[ScheduledChangeOut]
    customer_number: Annotated[
        str | None,
        Field(
            description="お客様番号: 10 digits (9 and a check digit), given at creation, never changed; "
            "transfer payers put it before their name",
            examples=["0000000018"],
        ),
    ] = None
    debit_account: DebitAccountOut | None = None
    mandate_status: Annotated[
        MandateStatus | None,
        Field(
            description="direct debit only: pending until a debit succeeds, then active; rejected after a "
            "result that says the account cannot be debited (its invoices then go out as transfers)"
        ),
    ] = None
    payer_name_kana: str | None = None
    usage_alerts: UsageAlerts
    credit_balance: Annotated[int, Field(description="unapplied money (yen), applied to the next documents")] = 0


class CountIn(Payload):
    """``POST /v1/accounts/{account_id}/record-counts``."""

    count: Count
    observed_at: Annotated[Timestamp, Field(description="any UTC offset; at most 5 minutes in the future")]


class BatchReportIn(CountIn):
    account_id: AccountId


class BatchIn(Payload):
    """``POST /v1/record-counts``. Each report is checked on its own, so one bad report fails only itself."""

    reports: Annotated[list[SkipValidation[BatchReportIn]], Field(min_length=1, max_length=MAX_BATCH)]


class CountOut(Document):
    account_id: str
    month: str
    peak: int
    peak_observed_at: str | None
    raised: bool


class ErrorDetail(Document):
    code: str
    message: str


class ErrorOut(Document):
    error: ErrorDetail


class BatchResultOut(Document):
    """One report's outcome: the single form's body (status 200) or its ``error``."""

    account_id: str | None
    status: int
    month: str | None = None
    peak: int | None = None
    peak_observed_at: str | None = None
    raised: bool | None = None
    error: ErrorDetail | None = None


class BatchOut(Document):
    results: list[BatchResultOut]


class DailyHigh(Document):
    date: str
    high: int


class BracketOut(Document):
    """The tariff bracket the peak falls in: 1 is 0-10,000, 2 is 10,001-20,000..."""

    index: int
    from_: int = Field(alias="from")
    to: int


class ChurnEventOut(Document):
    """A suspected 洗い替え: from A down to B (at ``dropped_at``), back to C (at ``recovered_at``)."""

    dropped_at: str
    from_: int = Field(alias="from")
    to: int
    recovered_at: str
    back_to: int


class LateReportsOut(Document):
    """The reports that arrived after the month closed: how many, and the highest count among them."""

    count: int
    peak: int | None


class EstimateOut(Document):
    """What the month would be billed if it closed now, under its own terms; tax rounded as on the invoice."""

    subtotal: int
    tax: int
    total: int


class UsageAlertOut(Document):
    """A usage alert sent to the billing contact: ``approaching`` names the bracket that is near, ``crossed`` the
    bracket entered (``bracket.index``)."""

    kind: Literal["approaching", "crossed"]
    bracket: int
    sent_at: str


class UsageOut(Document):
    account_id: str
    month: str
    peak: int
    peak_observed_at: str | None
    opening_count: int
    last_count: int
    last_observed_at: str | None
    closed: bool
    daily: list[DailyHigh]
    bracket: BracketOut
    churn_events: list[ChurnEventOut] = Field(description="the month's suspected 洗い替え episodes (month of the drop)")
    late_reports: LateReportsOut
    correction_suggested: bool = Field(description="the late reports' peak falls in a higher bracket than invoiced")
    estimate: EstimateOut
    alerts: list[UsageAlertOut] = Field(description="the month's usage alerts, as sent")


class AccountChurnEventOut(ChurnEventOut):
    account_id: str


class ChurnEventsOut(Document):
    month: str
    churn_events: list[AccountChurnEventOut]


# ------------------------------------------------------------ change requests

_REMOVABLE = frozenset({"department", "person_name", "corporate_number"})


class ContactChangesIn(Payload):
    """Only the fields that change; ``null`` removes ``department``, ``person_name`` or ``corporate_number``."""

    company_name: CompanyName | None = None
    department: Department | None = None
    person_name: PersonName | None = None
    postal_code: PostalCode | None = None
    address: Address | None = None
    email: Email | None = None
    phone: Phone | None = None
    corporate_number: CorporateNumber | None = None

    @model_validator(mode="after")
    def _names_a_change(self):
        # Which keys were sent, and which were null, is something a field type cannot say.
        if not self.model_fields_set:
            raise ValueError("billing_contact must name at least one field to change")
        for name in self.model_fields_set - _REMOVABLE:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed; give its new value")
        return self

    def as_changes(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class ChangesIn(Payload):
    billing_contact: ContactChangesIn | None = None
    payment_method: Payment | None = None
    delivery_method: Delivery | None = None
    plan: PlanName | None = None
    options: Annotated[Options | None, Field(description="the whole new list of options")] = None
    debit_account: Annotated[
        DebitAccountIn | None,
        Field(description="a new account to debit; with it, or with a switch to direct_debit, an operator approves"),
    ] = None
    payer_name_kana: PayerNameKana | None = None
    usage_alerts: Annotated[
        UsageAlerts | None, Field(description="false turns usage alerts off, true on again; the contact confirms it")
    ] = None

    @model_validator(mode="after")
    def _names_a_change(self):
        if not {name for name in self.model_fields_set if getattr(self, name) is not None}:
            raise ValueError(
                "changes must name at least one of billing_contact, payment_method, delivery_method, plan, options,"
                " debit_account, payer_name_kana, usage_alerts"
            )
        return self

    def as_changes(self) -> Changes:
        return Changes(
            billing_contact=self.billing_contact.as_changes() if self.billing_contact else {},
            payment_method=self.payment_method,
            delivery_method=self.delivery_method,
            plan=self.plan,
            options=None if self.options is None else tuple(self.options),
            debit_account=self.debit_account.as_account() if self.debit_account else None,
            payer_name_kana=self.payer_name_kana,
            usage_alerts=self.usage_alerts,
        )


class ChangeRequestIn(Payload):
    """``POST /v1/accounts/{account_id}/change-requests``."""

    changes: ChangesIn
    effective_month: Annotated[
        Month | None, Field(description="the first month billed with the change; by default the month it is applied")
    ] = None

    def as_request(self, profile: AccountProfile, now: datetime) -> tuple[ChangeRequest, str | None]:
        """The request this body opens against ``profile``, and its token (``ChangeRequest.open``)."""
        return ChangeRequest.open(profile, self.changes.as_changes(), now, self.effective_month)


class ConfirmIn(Payload):
    """``POST /v1/change-requests/{id}/confirm``: the token from the email."""

    token: text(200)


class ApproveIn(Payload):
    """``POST /v1/change-requests/{id}/approve``: who approved, as the operator gives their name."""

    approved_by: text(100)


class ChangeRequestOut(Document):
    change_request_id: str
    account_id: str
    status: ChangeRequestStatus
    changes: dict
    requested_at: str
    expires_at: str | None
    effective_month: str | None
    applied_at: str | None = None
    approved_by: str | None = None


# ------------------------------------------------------------ cancellations


class CancellationIn(Payload):
    """``POST /v1/accounts/{account_id}/cancellation`` (operator)."""

    received_on: Annotated[IsoDate, Field(description="the day the cancellation was received; not in the future")]
    end_month: Annotated[
        Month | None, Field(description="the last month billed; by default the earliest end month")
    ] = None


class CancellationOut(Document):
    account_id: str
    received_on: str
    earliest_end_month: str
    end_month: str
    contract_end: str


__all__ = [
    "AccountId",
    "AccountIn",
    "AccountOut",
    "ApproveIn",
    "BatchIn",
    "BatchOut",
    "BatchReportIn",
    "CancellationIn",
    "CancellationOut",
    "ChangeRequestIn",
    "ChangeRequestOut",
    "ConfirmIn",
    "CountIn",
    "CountOut",
    "ErrorOut",
    "Month",
    "UsageOut",
]
