"""Contract changes: what may change, who must agree, and how long a token lasts."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import months
from billing.contracts.accounts import AccountProfile
from billing.contracts.change_requests import (
    APPLIED,
    PENDING_APPROVAL,
    PENDING_CONFIRMATION,
    TOKEN_LIFETIME,
    ChangeRequest,
    approval_notice_email,
    confirmation_email,
    hash_token,
    token_matches,
)
from billing.errors import (
    AlreadyApplied,
    ApprovalRequired,
    ConfirmationRequired,
    InvalidRequest,
    InvalidToken,
    TokenExpired,
)
from billing.schema.fields import CHANGE_REQUEST_ID_PATTERN
from billing.schema.platform import ApproveIn, ChangeRequestIn, ChangesIn, ConfirmIn
from tests.factories import CONTACT, DEBIT_ACCOUNT, account_profile
from tests.unit.edge import typed

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=months.TOKYO)
PAGE_URL = "https://customer.example.test"


@pytest.fixture
def profile() -> AccountProfile:
    return account_profile()  # bank transfer, postal, 山田 太郎 of 経理部


def open_request(profile, body) -> tuple[ChangeRequest, str | None]:
    return typed(ChangeRequestIn, body).as_request(profile, NOW)


def request(profile, **changes) -> tuple[ChangeRequest, str | None]:
    return open_request(profile, {"changes": changes})


# ---------------------------------------------------------------- parsing and validation


def test_a_partial_contact_and_both_methods_make_a_request_awaiting_the_customer():
    profile = account_profile("direct_debit")
    made, token = request(
        profile, billing_contact={"email": "keiri@example.co.jp"}, payment_method="bank_transfer", delivery_method="web"
    )
    assert made.status == PENDING_CONFIRMATION
    assert made.account_id == "acme"
    assert made.changes.as_json() == {
        "billing_contact": {"email": "keiri@example.co.jp"},
        "payment_method": "bank_transfer",
        "delivery_method": "web",
    }
    assert made.changes.apply_to(profile).debit_account is None  # leaving direct debit leaves its account
    assert token
    assert len(made.change_request_id) == 32
    assert re.fullmatch(CHANGE_REQUEST_ID_PATTERN, made.change_request_id)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({}, "changes: Field required"),
        ({"changes": {}}, "changes: changes must name at least one of"),
        ({"changes": {"plan": 7}}, "changes.plan: Input should be a valid string"),
        ({"changes": {"options": ["bridge", "bridge"]}}, "changes.options: options must not repeat"),
        ({"changes": {"delivery_method": "web"}, "effective_month": "2026-13"}, "effective_month: String should match"),
        ({"changes": {"delivery_method": "web"}, "reason": "x"}, "reason: Extra inputs are not permitted"),
        ({"changes": "web"}, "changes: Input should be a valid dictionary"),
        ({"changes": {"billing_contact": {}}}, "changes.billing_contact: billing_contact must name at least one field"),
        (
            {"changes": {"billing_contact": {"fax": "03-0000-0000"}}},
            "changes.billing_contact.fax: Extra inputs are not permitted",
        ),
        ({"changes": {"billing_contact": "someone"}}, "changes.billing_contact: Input should be a valid dictionary"),
        ({"changes": {"billing_contact": {"email": None}}}, "changes.billing_contact: email cannot be removed"),
        ({"changes": {"payment_method": "cash"}}, "changes.payment_method: Input should be"),
        ({"changes": {"delivery_method": "fax"}}, "changes.delivery_method: Input should be"),
        (
            {"changes": {"billing_contact": {"postal_code": "1000005"}}},
            "changes.billing_contact.postal_code: String should match",
        ),
        (
            {"changes": {"billing_contact": {"email": "not-an-email"}}},
            "changes.billing_contact.email: String should match",
        ),
        (
            {"changes": {"billing_contact": {"phone": 312345678}}},
            "changes.billing_contact.phone: Input should be a valid string",
        ),
        (
            {"changes": {"billing_contact": {"address": ""}}},
            "changes.billing_contact.address: String should have at least 1",
        ),
        (
            {"changes": {"billing_contact": {"department": "x" * 101}}},
            "changes.billing_contact.department: String should have at most",
        ),
        ({"changes": {"usage_alerts": "false"}}, "changes.usage_alerts: Input should be a valid boolean"),
        ({"changes": {"usage_alerts": 0}}, "changes.usage_alerts: Input should be a valid boolean"),
        ({"changes": {"usage_alerts": None}}, "changes: changes must name at least one of"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(profile, body, complaint):
    with pytest.raises(InvalidRequest) as refused:
        open_request(profile, body)
    assert complaint in refused.value.message


def test_a_request_that_changes_nothing_is_refused(profile):
    with pytest.raises(InvalidRequest) as refused:
        request(profile, payment_method="bank_transfer", billing_contact={"email": "billing@example.co.jp"})
    assert "change nothing" in refused.value.message


def test_fields_sent_unchanged_are_left_out_of_the_request(profile):
    full_contact = {**CONTACT, "phone": "03-9999-0000"}
    made, _ = request(profile, billing_contact=full_contact, delivery_method="postal")
    assert made.changes.as_json() == {"billing_contact": {"phone": "03-9999-0000"}}


# ---------------------------------------------------------------- approval


def test_a_company_name_change_waits_for_an_operator_and_sends_no_token(profile):
    made, token = request(profile, billing_contact={"company_name": "株式会社新商号", "email": "new@example.co.jp"})
    assert (made.status, token, made.token_hash, made.expires_at) == (PENDING_APPROVAL, None, None, None)
    with pytest.raises(ApprovalRequired):
        made.check_confirmation("anything", NOW)
    made.check_approval()  # an operator may approve it


def test_sending_the_same_company_name_is_no_legal_name_change(profile):
    made, token = request(profile, billing_contact={"company_name": CONTACT["company_name"], "phone": "03-1111-2222"})
    assert made.status == PENDING_CONFIRMATION and token
    assert not made.changes.needs_approval


@pytest.mark.parametrize(
    ("changes", "needs_approval"),
    [
        ({"billing_contact": {"company_name": "新商号株式会社"}}, True),
        ({"billing_contact": {"company_name": "新商号株式会社", "address": "大阪府"}}, True),
        ({"billing_contact": {"address": "大阪府大阪市北区1-1"}}, False),
        ({"billing_contact": {"person_name": None, "department": "総務部"}}, False),
        ({"payment_method": "bank_transfer", "delivery_method": "web"}, False),
        ({"payment_method": "direct_debit", "debit_account": DEBIT_ACCOUNT}, True),
        ({"debit_account": DEBIT_ACCOUNT}, True),
        ({"payer_name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ"}, False),
        ({"usage_alerts": False}, False),
    ],
)
def test_a_legal_name_a_debit_account_or_a_switch_to_debit_needs_an_operator(changes, needs_approval):
    assert typed(ChangesIn, changes).as_changes().needs_approval is needs_approval


def test_a_switch_to_direct_debit_names_the_account_to_debit(profile):
    with pytest.raises(InvalidRequest, match="debit_account is required"):
        request(profile, payment_method="direct_debit")
    with pytest.raises(InvalidRequest, match="debit_account is only for"):
        request(profile, debit_account=DEBIT_ACCOUNT)
    made, token = request(profile, payment_method="direct_debit", debit_account=DEBIT_ACCOUNT)
    assert made.status == PENDING_APPROVAL and token is None
    assert made.as_json()["changes"]["debit_account"]["account_number"] == "****567"
    assert made.as_record()["changes"]["debit_account"]["account_number"] == "1234567"


def test_an_operator_cannot_approve_what_the_customer_confirms(profile):
    made, _ = request(profile, delivery_method="web")
    with pytest.raises(ConfirmationRequired):
        made.check_approval()


# ---------------------------------------------------------------- expiry


def test_the_token_works_until_seven_days_after_the_request(profile):
    made, token = request(profile, delivery_method="web")
    assert made.expires_at == NOW + TOKEN_LIFETIME == NOW + timedelta(days=7)
    made.check_confirmation(token, NOW + timedelta(days=7) - timedelta(seconds=1))
    with pytest.raises(TokenExpired) as refused:
        made.check_confirmation(token, NOW + timedelta(days=7))
    assert refused.value.status == 410


def test_an_approval_request_does_not_expire(profile):
    made, _ = request(profile, billing_contact={"company_name": "株式会社新商号"})
    assert not made.is_expired(NOW + timedelta(days=365))


# ---------------------------------------------------------------- tokens


def test_a_wrong_token_is_refused_and_a_used_one_cannot_be_reused(profile):
    made, token = request(profile, delivery_method="web")
    with pytest.raises(InvalidToken) as refused:
        made.check_confirmation(token + "x", NOW)
    assert (refused.value.status, refused.value.code) == (400, "invalid_token")
    used = made.applied(NOW, "2026-11")
    with pytest.raises(AlreadyApplied) as reused:
        used.check_confirmation(token, NOW)
    assert (reused.value.status, reused.value.code) == (409, "already_applied")
    with pytest.raises(AlreadyApplied):
        used.check_approval()


def test_only_the_tokens_sha256_is_kept_and_never_shown(profile):
    made, token = request(profile, delivery_method="web")
    assert made.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(made.as_record())
    assert "token_hash" not in made.as_json() and token not in str(made.as_json())


def test_every_request_gets_its_own_token_and_id(profile):
    made = [request(profile, delivery_method="web") for _ in range(20)]
    assert len({token for _, token in made}) == 20
    assert len({r.change_request_id for r, _ in made}) == 20


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_a_token_matches_only_its_own_hash(token, other):
    assert token_matches(token, hash_token(token))
    assert token_matches(other, hash_token(token)) is (other == token)
    assert not token_matches(token, None)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ConfirmIn, {}),
        (ConfirmIn, {"token": ""}),
        (ConfirmIn, {"token": 123}),
        (ConfirmIn, {"token": "t", "extra": 1}),
        (ConfirmIn, {"token": "t\x00"}),
        (ApproveIn, {"approved_by": ""}),
        (ApproveIn, {}),
    ],
)
def test_confirm_and_approve_bodies_are_checked(model, body):
    with pytest.raises(InvalidRequest):
        typed(model, body)


@pytest.mark.parametrize("value", ["", "abc", "3F2A9C1E5B7D4F6A8C0E2B4D6F8A1C3E", "../" * 11, "a" * 32 + "\n"])
def test_malformed_request_ids_are_refused(value):
    assert not re.fullmatch(CHANGE_REQUEST_ID_PATTERN, value)


# ---------------------------------------------------------------- applying


def test_applying_lays_the_changes_over_the_profile_and_keeps_the_rest(profile):
    made, _ = request(
        profile,
        billing_contact={"address": "大阪府大阪市北区梅田1-1-1", "postal_code": "530-0001"},
        payment_method="direct_debit",
        debit_account=DEBIT_ACCOUNT,
    )
    changed = made.changes.apply_to(profile)
    assert changed.billing_contact.address == "大阪府大阪市北区梅田1-1-1"
    assert changed.billing_contact.postal_code == "530-0001"
    assert changed.payment_method == "direct_debit"
    expected = profile.as_json()
    expected["billing_contact"].update(address="大阪府大阪市北区梅田1-1-1", postal_code="530-0001")
    expected["payment_method"] = "direct_debit"
    expected["debit_account"] = DEBIT_ACCOUNT
    assert changed.as_json() == expected


def test_removing_the_person_addresses_the_department_with_onchu(profile):
    made, _ = request(profile, billing_contact={"person_name": None})
    assert made.changes.apply_to(profile).billing_contact.recipient == "株式会社サンプル商事 経理部 御中"


def test_an_applied_request_records_when_and_who(profile):
    made, _ = request(profile, billing_contact={"company_name": "株式会社新商号"})
    applied = made.applied(NOW + timedelta(days=3), "2026-12", approved_by="佐藤", principal="arn:aws:iam::1:user/op")
    assert applied.status == APPLIED
    assert applied.as_json()["effective_month"] == "2026-12"
    assert ChangeRequest.from_record(applied.as_record()).approved_principal == "arn:aws:iam::1:user/op"
    assert applied.as_json()["applied_at"] == "2026-11-28T10:00:00+09:00"
    assert applied.as_json()["approved_by"] == "佐藤"


def test_a_stored_request_reads_back_the_same(profile):
    for changes in (
        {"billing_contact": {"person_name": None}, "delivery_method": "web"},
        {"payment_method": "direct_debit", "debit_account": DEBIT_ACCOUNT},
    ):
        made, _ = request(profile, **changes)
        assert ChangeRequest.from_record(made.as_record()) == made


def test_the_api_view_shows_times_in_japan_time(profile):
    made, _ = typed(ChangeRequestIn, {"changes": {"delivery_method": "web"}}).as_request(
        profile, NOW.replace(microsecond=123)
    )
    body = made.as_json()
    assert (body["requested_at"], body["expires_at"]) == ("2026-11-25T10:00:00+09:00", "2026-12-02T10:00:00+09:00")


# ---------------------------------------------------------------- email


def test_the_confirmation_email_goes_to_the_current_address_with_the_token():
    profile = account_profile("direct_debit")
    made, token = request(profile, billing_contact={"email": "keiri@example.co.jp"}, payment_method="bank_transfer")
    email = confirmation_email(made, profile, token, PAGE_URL)
    assert email.to == "billing@example.co.jp"
    assert "変更" in email.subject
    assert token in email.body and made.change_request_id in email.body
    assert "株式会社サンプル商事 経理部 山田 太郎 様" in email.body
    assert "メールアドレス: billing@example.co.jp → keiri@example.co.jp" in email.body
    assert "新しいメールアドレス keiri@example.co.jp" in email.body
    assert "お支払い方法: 口座振替 → 銀行振込" in email.body
    assert "2026年12月2日 10:00" in email.body  # the token's expiry, Japan time


def test_the_confirmation_email_links_to_the_page_with_the_token(profile):
    # Given a request / When its email is written / Then it links to the customer API's page for it, token included
    made, token = request(profile, delivery_method="web")
    body = confirmation_email(made, profile, token, PAGE_URL + "/").body
    assert f"{PAGE_URL}/change-requests/{made.change_request_id}?token={token}\n" in body


def test_the_email_without_an_email_change_does_not_speak_of_a_new_address(profile):
    made, token = request(profile, delivery_method="web")
    body = confirmation_email(made, profile, token, PAGE_URL).body
    assert "新しいメールアドレス" not in body
    assert "請求書の受け取り方法: 郵送 → WEB明細" in body


def test_usage_alerts_are_turned_off_and_on_again_by_the_customers_confirmation(profile):
    made, token = request(profile, usage_alerts=False)
    assert (made.status, made.changes.as_json()) == (PENDING_CONFIRMATION, {"usage_alerts": False})
    email = confirmation_email(made, profile, token, PAGE_URL)
    assert "ご利用状況のお知らせメール: 受け取る → 受け取らない" in email.body
    assert ChangeRequest.from_record(made.as_record()) == made
    off = made.changes.apply_to(profile)
    assert off.usage_alerts is False and off.as_json() == {**profile.as_json(), "usage_alerts": False}

    again, token = request(off, usage_alerts=True)
    assert again.status == PENDING_CONFIRMATION
    email = confirmation_email(again, off, token, PAGE_URL)
    assert "ご利用状況のお知らせメール: 受け取らない → 受け取る" in email.body
    assert again.changes.apply_to(off).usage_alerts is True


def test_a_change_that_leaves_usage_alerts_out_keeps_them_as_they_are(profile):
    off = request(profile, usage_alerts=False)[0].changes.apply_to(profile)
    made, _ = request(off, delivery_method="web")
    assert "usage_alerts" not in made.changes.as_json()
    assert made.changes.apply_to(off).usage_alerts is False
    with pytest.raises(InvalidRequest, match="change nothing"):
        request(off, usage_alerts=False)


def test_the_approval_notice_carries_no_token(profile):
    made, _ = request(profile, billing_contact={"company_name": "株式会社新商号"})
    email = approval_notice_email(made, profile)
    assert email.to == "billing@example.co.jp"
    assert "会社名: 株式会社サンプル商事 → 株式会社新商号" in email.body
    assert "確認コード" not in email.body and "承認" in email.body
