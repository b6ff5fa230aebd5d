"""Contract changes that affect billing: requested, then confirmed or approved.

A change to the invoice recipient, its address or contacts, the payment
method, the delivery method or whether usage alert emails are sent applies
only once the billing contact confirms it with the one-time token sent to
their current email address. A change of company name (商号変更, a
legal-name change) needs documents, so an operator approves it instead and
no token is issued.

The token goes out by email only: the request keeps its sha256, never the
token, and a token is good for ``TOKEN_LIFETIME`` (7 days) from the request.

A request stores only the fields that differ from the profile as it stood;
applying it lays those fields over the profile as it stands at confirmation.
Invoices already issued keep the recipient they were issued with (they hold
their own snapshot); the next close uses the profile as changed.

This module never imports boto3: the stores and the mailer are elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import quote

from billing import months
from billing.contracts.accounts import AccountProfile, BillingContact, check_payment_details
from billing.contracts.payment_details import DebitAccount
from billing.emails import Email
from billing.errors import (
    AlreadyApplied,
    ApprovalRequired,
    ConfirmationRequired,
    InvalidRequest,
    InvalidToken,
    TokenExpired,
)
from billing.vocabulary import DELIVERY_LABELS, PAYMENT_LABELS, ChangeRequestStatus, DeliveryMethod, PaymentMethod

TOKEN_LIFETIME = timedelta(days=7)

PENDING_CONFIRMATION = ChangeRequestStatus.PENDING_CONFIRMATION
PENDING_APPROVAL = ChangeRequestStatus.PENDING_APPROVAL
APPLIED = ChangeRequestStatus.APPLIED

# A legal-name change needs documents: an operator approves it, the customer cannot confirm it alone. So does a
# debit account (a signed 口座振替依頼書 stands behind it), and with it a switch to direct debit.
APPROVAL_FIELDS = frozenset({"company_name"})

_LABELS = {
    "company_name": "会社名",
    "department": "部署名",
    "person_name": "ご担当者名",
    "postal_code": "郵便番号",
    "address": "住所",
    "email": "メールアドレス",
    "phone": "電話番号",
    "corporate_number": "法人番号",
    "payment_method": "お支払い方法",
    "delivery_method": "請求書の受け取り方法",
    "plan": "プラン",
    "options": "オプション",
    "debit_account": "口座振替の口座",
    "payer_name_kana": "振込依頼人名",
    "usage_alerts": "ご利用状況のお知らせメール",
}
_USAGE_ALERTS_TEXT = {True: "受け取る", False: "受け取らない"}


@dataclass(frozen=True)
class Changes:
    """The terms a request changes: a partial billing contact, the two methods, the plan and the options, and
    whether usage alerts are sent. ``None`` is no change; ``False`` (alerts off) is a change like any other."""

    billing_contact: dict[str, str | None] = field(default_factory=dict)
    payment_method: PaymentMethod | None = None
    delivery_method: DeliveryMethod | None = None
    plan: str | None = None
    options: tuple[str, ...] | None = None  # the whole new list
    debit_account: DebitAccount | None = None  # a new account to debit (operator-approved)
    payer_name_kana: str | None = None
    usage_alerts: bool | None = None

    @classmethod
    def from_json(cls, body: dict) -> Changes:
        options = body.get("options")
        debit = body.get("debit_account")
        return cls(
            billing_contact=dict(body.get("billing_contact") or {}),
            payment_method=_or_none(PaymentMethod, body.get("payment_method")),
            delivery_method=_or_none(DeliveryMethod, body.get("delivery_method")),
            plan=body.get("plan"),
            options=None if options is None else tuple(options),
            debit_account=DebitAccount.from_json(debit) if debit else None,
            payer_name_kana=body.get("payer_name_kana"),
            usage_alerts=body.get("usage_alerts"),
        )

    def apply_to(self, profile: AccountProfile) -> AccountProfile:
        """The terms with these changes laid over them (each value was typed when the request came in).

        Leaving direct debit leaves its debit account behind.
        """
        contact = {**profile.billing_contact.as_json(), **self.billing_contact}
        contact = {name: value for name, value in contact.items() if value is not None}
        payment_method = self.payment_method or profile.payment_method
        debit_account = self.debit_account or profile.debit_account
        return replace(
            profile,
            billing_contact=BillingContact(**contact),
            payment_method=payment_method,
            delivery_method=self.delivery_method or profile.delivery_method,
            plan=self.plan or profile.plan,
            options=profile.options if self.options is None else self.options,
            debit_account=debit_account if payment_method == PaymentMethod.DIRECT_DEBIT else None,
            payer_name_kana=self.payer_name_kana or profile.payer_name_kana,
            usage_alerts=profile.usage_alerts if self.usage_alerts is None else self.usage_alerts,
        )

    def relative_to(self, profile: AccountProfile) -> Changes:
        """Only what would differ from ``profile`` (a field sent unchanged is no change)."""
        current = profile.billing_contact.as_json()
        return Changes(
            billing_contact={name: value for name, value in self.billing_contact.items() if current.get(name) != value},
            payment_method=self.payment_method if self.payment_method != profile.payment_method else None,
            delivery_method=self.delivery_method if self.delivery_method != profile.delivery_method else None,
            plan=self.plan if self.plan != profile.plan else None,
            options=self.options if self.options is not None and self.options != profile.options else None,
            debit_account=self.debit_account if self.debit_account != profile.debit_account else None,
            payer_name_kana=self.payer_name_kana if self.payer_name_kana != profile.payer_name_kana else None,
            usage_alerts=self.usage_alerts if self.usage_alerts != profile.usage_alerts else None,
        )

    @property
    def is_empty(self) -> bool:
        return not self.as_json()

    @property
    def needs_approval(self) -> bool:
        """A change of company name (legal name), a debit account or a switch to direct debit is approved by an
        operator, not confirmed by email."""
        to_debit = self.payment_method == PaymentMethod.DIRECT_DEBIT or self.debit_account is not None
        return to_debit or bool(APPROVAL_FIELDS & self.billing_contact.keys())

    def as_json(self) -> dict:
        body: dict = {}
        if self.billing_contact:
            body["billing_contact"] = dict(self.billing_contact)
        if self.payment_method:
            body["payment_method"] = self.payment_method
        if self.delivery_method:
            body["delivery_method"] = self.delivery_method
        if self.plan:
            body["plan"] = self.plan
        if self.options is not None:
            body["options"] = list(self.options)
        if self.debit_account is not None:
            body["debit_account"] = self.debit_account.as_json()
        if self.payer_name_kana is not None:
            body["payer_name_kana"] = self.payer_name_kana
        if self.usage_alerts is not None:
            body["usage_alerts"] = self.usage_alerts
        return body

    def shown(self) -> dict:
        """As an answer shows the changes: a debit account's number masked."""
        body = self.as_json()
        if self.debit_account is not None:
            body["debit_account"] = self.debit_account.shown()
        return body


@dataclass(frozen=True)
class ChangeRequest:
    change_request_id: str
    account_id: str
    changes: Changes
    status: ChangeRequestStatus
    requested_at: datetime
    expires_at: datetime | None  # when the token stops working; None when an operator approves instead
    token_hash: str | None = None  # sha256 of the emailed token, hex; never the token
    applied_at: datetime | None = None
    approved_by: str | None = None
    approved_principal: str | None = None  # the IAM principal that signed the approval
    # The month the change takes effect from: as requested (None: the month it is applied in), and once applied,
    # the month it actually took effect from (the first open month, if the one asked for closed meanwhile).
    effective_month: str | None = None

    @classmethod
    def open(
        cls, profile: AccountProfile, changes: Changes, now: datetime, effective_month: str | None = None
    ) -> tuple[ChangeRequest, str | None]:
        """A new request for ``changes`` (typed by the edge: ``ChangeRequestIn.as_request``) against ``profile``
        from ``effective_month`` (None: the month it is applied in), and the token to email (None when an operator
        approves).

        Refuses a request that would change nothing.
        """
        now = now.replace(microsecond=0)  # stored to the second
        changes = changes.relative_to(profile)
        if changes.is_empty:
            raise InvalidRequest("changes would change nothing: the terms already have these values for that month")
        changed = changes.apply_to(profile)
        if changes.payment_method or changes.debit_account:
            check_payment_details(changed.payment_method, changes.debit_account or changed.debit_account)
        request_id = new_request_id()
        month = effective_month
        if changes.needs_approval:
            request = cls(request_id, profile.account_id, changes, PENDING_APPROVAL, now, None, effective_month=month)
            return request, None
        token = new_token()
        request = cls(
            request_id,
            profile.account_id,
            changes,
            PENDING_CONFIRMATION,
            now,
            expires_at=now + TOKEN_LIFETIME,
            token_hash=hash_token(token),
            effective_month=month,
        )
        return request, token

    def check_confirmation(self, token: str, now: datetime) -> None:
        """Raise unless ``token`` may apply this request now."""
        if self.token_hash is None:  # an operator approves it; no token was ever sent
            raise ApprovalRequired(self.change_request_id)
        if not token_matches(token, self.token_hash):
            raise InvalidToken()
        if self.status == APPLIED:
            raise AlreadyApplied(self.change_request_id)
        if self.is_expired(now):
            raise TokenExpired(self.change_request_id)

    def check_approval(self) -> None:
        """Raise unless an operator may approve this request."""
        if self.status == APPLIED:
            raise AlreadyApplied(self.change_request_id)
        if self.status != PENDING_APPROVAL:
            raise ConfirmationRequired(self.change_request_id)

    def is_expired(self, now: datetime) -> bool:
        """A token older than TOKEN_LIFETIME no longer works; approval requests do not expire."""
        return self.expires_at is not None and now >= self.expires_at

    def applied(
        self, now: datetime, effective_month: str, approved_by: str | None = None, principal: str | None = None
    ) -> ChangeRequest:
        return replace(
            self,
            status=APPLIED,
            applied_at=now,
            approved_by=approved_by,
            approved_principal=principal,
            effective_month=effective_month,
        )

    def as_json(self) -> dict:
        """The API's view: never the token nor its hash, nor a debit account's whole number."""
        body = {
            "change_request_id": self.change_request_id,
            "account_id": self.account_id,
            "status": self.status,
            "changes": self.changes.shown(),
            "effective_month": self.effective_month,
            "requested_at": _iso(self.requested_at),
            "expires_at": _iso(self.expires_at),
        }
        if self.applied_at:
            body["applied_at"] = _iso(self.applied_at)
        if self.approved_by:
            body["approved_by"] = self.approved_by
        return body

    def as_record(self) -> dict:
        """A DynamoDB-ready dict (keys are the store's business)."""
        return {
            **self.as_json(),
            "changes": self.changes.as_json(),
            "token_hash": self.token_hash,
            "approved_principal": self.approved_principal,
        }

    @classmethod
    def from_record(cls, record: dict) -> ChangeRequest:
        return cls(
            change_request_id=record["change_request_id"],
            account_id=record["account_id"],
            changes=Changes.from_json(record["changes"]),
            status=ChangeRequestStatus(record["status"]),
            requested_at=datetime.fromisoformat(record["requested_at"]),
            expires_at=_datetime_or_none(record.get("expires_at")),
            token_hash=record.get("token_hash"),
            applied_at=_datetime_or_none(record.get("applied_at")),
            approved_by=record.get("approved_by"),
            approved_principal=record.get("approved_principal"),
            effective_month=record.get("effective_month"),
        )


def check_effective_month(effective_month: str | None, contract_start_month: str) -> None:
    """A change cannot take effect before the contract starts: no terms are in force then to change.

    Checked before whether the month is closed, so such a request is refused as what it is.
    """
    if effective_month is not None and effective_month < contract_start_month:
        raise InvalidRequest(
            f"effective_month: {effective_month} is before the contract starts ({contract_start_month}); "
            f"name {contract_start_month} or a later month"
        )


def new_request_id() -> str:
    return secrets.token_hex(16)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, token_hash: str | None) -> bool:
    """Compare in constant time, so response timing says nothing about the stored hash."""
    return token_hash is not None and hmac.compare_digest(hash_token(token), token_hash)


# ---------------------------------------------------------------- email


def confirmation_email(request: ChangeRequest, profile: AccountProfile, token: str, page_url: str) -> Email:
    """The email that carries the token, to the billing contact's current address.

    ``page_url`` is the customer API's base URL: the email links to its confirmation page, with the token.
    """
    lines = [
        f"{profile.billing_contact.recipient}",
        "",
        "いつもご利用いただきありがとうございます。",
        "ご請求先情報の変更のお申し込みを受け付けました。",
        "内容をご確認のうえ、下記のページから変更を確定してください。",
        "確定するまで変更は反映されません。",
        "",
        "■ 変更内容",
        *_change_lines(request.changes, profile),
        "",
        f"■ 適用開始: {_effective_text(request)}",
        "■ 確認ページ（開くだけでは変更されません。ページの「変更を確定する」ボタンで確定します）",
        confirmation_link(page_url, request.change_request_id, token),
        "",
        f"■ 受付番号: {request.change_request_id}",
        f"■ 確認コード: {token}",
        f"■ 有効期限: {_japanese_time(request.expires_at)}（日本時間）",
        "",
    ]
    new_email = request.changes.billing_contact.get("email")
    if new_email:
        lines += [
            f"確定後は、ご請求に関するご連絡を新しいメールアドレス {new_email} にお送りします。",
            "",
        ]
    lines += [
        "確定した変更は、次に発行する請求書から反映されます。発行済みの請求書は変わりません。",
        "お心当たりのない場合は、このメールを破棄してください。変更は行われません。",
    ]
    return Email(
        to=profile.billing_contact.email,
        subject="【ご確認ください】ご請求先情報の変更",
        body="\n".join(lines) + "\n",
    )


def approval_notice_email(request: ChangeRequest, profile: AccountProfile) -> Email:
    """The email that says a legal-name change was received and awaits review (no token)."""
    lines = [
        f"{profile.billing_contact.recipient}",
        "",
        "いつもご利用いただきありがとうございます。",
        "ご請求先情報の変更のお申し込みを受け付けました。",
        "会社名（商号）の変更は、確認書類をいただいたうえで担当者が審査し、承認後に反映します。",
        "",
        "■ 変更内容",
        *_change_lines(request.changes, profile),
        "",
        f"■ 適用開始: {_effective_text(request)}",
        f"■ 受付番号: {request.change_request_id}",
        "",
        "承認されるまで変更は反映されません。発行済みの請求書は変わりません。",
        "お心当たりのない場合は、お手数ですがサポート窓口までご連絡ください。",
    ]
    return Email(
        to=profile.billing_contact.email,
        subject="【受付のお知らせ】ご請求先情報の変更（承認待ち）",
        body="\n".join(lines) + "\n",
    )


def confirmation_link(page_url: str, change_request_id: str, token: str) -> str:
    """The confirmation page of a request, with its token: ``<page_url>/change-requests/<id>?token=<token>``."""
    return f"{page_url.rstrip('/')}/change-requests/{quote(change_request_id, safe='')}?token={quote(token, safe='')}"


def change_rows(changes: Changes, profile: AccountProfile) -> list[tuple[str, str | None, str | None]]:
    """Each change as (Japanese label, before, after); None where the field is (or becomes) empty."""
    current = profile.billing_contact.as_json()
    rows = [(name, current.get(name), value) for name, value in changes.billing_contact.items()]
    if changes.payment_method:
        rows.append(("payment_method", PAYMENT_LABELS[profile.payment_method], PAYMENT_LABELS[changes.payment_method]))
    if changes.delivery_method:
        rows.append(
            ("delivery_method", DELIVERY_LABELS[profile.delivery_method], DELIVERY_LABELS[changes.delivery_method])
        )
    if changes.plan:
        rows.append(("plan", profile.plan, changes.plan))
    if changes.options is not None:
        rows.append(("options", "、".join(profile.options), "、".join(changes.options)))
    if changes.debit_account is not None:
        rows.append(("debit_account", _debit_text(profile.debit_account), _debit_text(changes.debit_account)))
    if changes.payer_name_kana is not None:
        rows.append(("payer_name_kana", profile.payer_name_kana, changes.payer_name_kana))
    if changes.usage_alerts is not None:
        rows.append(
            ("usage_alerts", _USAGE_ALERTS_TEXT[profile.usage_alerts], _USAGE_ALERTS_TEXT[changes.usage_alerts])
        )
    return [(_LABELS[name], before, after) for name, before, after in rows]


def _debit_text(account: DebitAccount | None) -> str | None:
    """A debit account as a page or an email shows it: codes, type and the masked number, never whole."""
    if account is None:
        return None
    return f"{account.bank_code}-{account.branch_code} {account.account_type.value} {account.masked_number}"


def _change_lines(changes: Changes, profile: AccountProfile) -> list[str]:
    return [
        f"  {label}: {before or '（なし）'} → {after or '（なし）'}"
        for label, before, after in change_rows(changes, profile)
    ]


def _effective_text(request: ChangeRequest) -> str:
    if request.effective_month is None:
        return "確定した月のご利用分から"
    year, month = request.effective_month.split("-")
    return f"{int(year)}年{int(month)}月ご利用分から（締め済みの場合は次の締め前の月から）"


def _japanese_time(moment: datetime | None) -> str:
    local = moment.astimezone(months.TOKYO)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(months.TOKYO).isoformat(timespec="seconds")


def _or_none(kind, value):
    return None if value is None else kind(value)


def _datetime_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
