"""Contract changes under moto: requested, emailed, confirmed or approved, then billed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from billing.errors import AlreadyApplied
from tests.conftest import load_event
from tests.factories import DEBIT_ACCOUNT, profile_body
from tests.integration.billing_month import Month, invoice_item
from tests.integration.conftest import TABLE, Api

NEW_CONTACT = {"person_name": "鈴木 一郎", "email": "keiri@example.co.jp"}


@pytest.fixture
def account(accounts_api):
    status, _ = accounts_api.replay("put_account.json")
    assert status == 201
    return "acme"


@pytest.fixture
def changes_api(aws) -> Api:
    return Api("change_requests")


def sent_emails() -> list:
    return ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sent_messages


def request_change(api, changes, account="acme", effective_month=None):
    body = {"changes": changes} | ({"effective_month": effective_month} if effective_month else {})
    return api.replay("request_change.json", path=f"/v1/accounts/{account}/change-requests", body=body)


def confirm(api, change_request_id, token):
    return api.replay(
        "confirm_change.json", path=f"/v1/change-requests/{change_request_id}/confirm", body={"token": token}
    )


def approve(api, change_request_id, by="佐藤 運用担当"):
    return api.replay(
        "approve_change.json", path=f"/v1/change-requests/{change_request_id}/approve", body={"approved_by": by}
    )


def token_from(email) -> str:
    """What the customer reads in the email: the code after 確認コード."""
    return re.search(r"確認コード: (\S+)", email.body).group(1)


def profile(accounts_api, account="acme") -> dict:
    status, body = accounts_api.replay("get_account.json", path=f"/v1/accounts/{account}")
    assert status == 200
    return body


def requested(api, changes, effective_month=None) -> tuple[str, str]:
    """Request a change; its id and the token from the email that it sent."""
    status, body = request_change(api, changes, effective_month=effective_month)
    assert status == 201, body
    return body["change_request_id"], token_from(sent_emails()[-1])


def stored_profile(account="acme") -> dict:
    key = {"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}}
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]


def close_gate(account, month) -> None:
    """What the month close does first for an account: the month is closed for counts and changes."""
    key = {"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}}
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET closed_through = :m",
        ExpressionAttributeValues={":m": {"S": month}},
    )


def stored_request(change_request_id) -> dict:
    key = {"pk": {"S": f"CHANGE#{change_request_id}"}, "sk": {"S": "REQUEST"}}
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=key)["Item"]


class TestRequestAndConfirm:
    def test_the_sample_event_requests_a_change_and_emails_the_current_contact(self, account, changes_api):
        status, body = changes_api.replay("request_change.json")
        assert status == 201
        assert body["status"] == "pending_confirmation"
        assert body["account_id"] == "acme"
        assert body["changes"] == json.loads(load_event("request_change.json")["body"])["changes"]
        requested_at = datetime.fromisoformat(body["requested_at"])
        assert datetime.fromisoformat(body["expires_at"]) - requested_at == timedelta(days=7)
        assert abs(datetime.now(UTC) - requested_at) < timedelta(minutes=1)
        [email] = sent_emails()
        assert email.destinations == {"ToAddresses": ["billing@example.co.jp"]}
        assert email.source == "billing@example.com"
        assert "keiri@example.co.jp" in email.body  # the new address is mentioned
        assert "確認コード" in email.body

    def test_the_token_goes_only_by_email_and_only_its_hash_is_stored(self, account, changes_api):
        _, body = request_change(changes_api, {"delivery_method": "web"})
        token = token_from(sent_emails()[-1])
        assert token not in json.dumps(body)
        item = stored_request(body["change_request_id"])
        assert token not in json.dumps(item)
        assert "token" not in item and len(item["token_hash"]["S"]) == 64

    def test_confirming_with_the_emailed_token_applies_the_change(self, account, accounts_api, changes_api):
        before = profile(accounts_api)
        change_id, token = requested(changes_api, {"billing_contact": NEW_CONTACT, "delivery_method": "web"})
        assert profile(accounts_api) == before  # nothing applies until it is confirmed

        status, body = confirm(changes_api, change_id, token)
        assert status == 200
        assert (body["change_request_id"], body["status"]) == (change_id, "applied")
        after = profile(accounts_api)
        assert after["billing_contact"] == {**before["billing_contact"], **NEW_CONTACT}
        assert (after["payment_method"], after["delivery_method"]) == ("bank_transfer", "web")
        assert {k: v for k, v in after.items() if k not in ("billing_contact", "delivery_method")} == {
            k: v for k, v in before.items() if k not in ("billing_contact", "delivery_method")
        }

    def test_a_wrong_token_is_refused_and_changes_nothing(self, account, accounts_api, changes_api):
        before = profile(accounts_api)
        change_id, token = requested(changes_api, {"delivery_method": "web"})
        status, body = confirm(changes_api, change_id, token[:-1] + ("A" if token[-1] != "A" else "B"))
        assert (status, body["error"]["code"]) == (400, "invalid_token")
        assert profile(accounts_api) == before
        assert confirm(changes_api, change_id, token)[0] == 200  # the right token still works

    def test_a_token_cannot_be_used_twice(self, account, accounts_api, changes_api):
        change_id, token = requested(changes_api, {"billing_contact": {"phone": "03-5555-0000"}})
        assert confirm(changes_api, change_id, token)[0] == 200
        status, body = confirm(changes_api, change_id, token)
        assert (status, body["error"]["code"]) == (409, "already_applied")
        assert profile(accounts_api)["billing_contact"]["phone"] == "03-5555-0000"
        assert len(stored_profile()["term_changes"]["L"]) == 1  # not applied again

    def test_a_token_older_than_seven_days_has_expired(self, account, accounts_api, changes_api, monkeypatch):
        before = profile(accounts_api)
        requested_at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        monkeypatch.setattr(changes_api.module, "now", lambda: requested_at)
        change_id, token = requested(changes_api, {"delivery_method": "web"})

        monkeypatch.setattr(changes_api.module, "now", lambda: requested_at + timedelta(days=7, seconds=1))
        status, body = confirm(changes_api, change_id, token)
        assert (status, body["error"]["code"]) == (410, "token_expired")
        assert profile(accounts_api) == before

    def test_a_token_a_day_before_expiry_still_works(self, account, changes_api, monkeypatch):
        requested_at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        monkeypatch.setattr(changes_api.module, "now", lambda: requested_at)
        change_id, token = requested(changes_api, {"delivery_method": "web"})
        monkeypatch.setattr(changes_api.module, "now", lambda: requested_at + timedelta(days=6))
        assert confirm(changes_api, change_id, token)[0] == 200

    def test_a_put_cannot_change_the_profile_around_a_request(self, account, accounts_api, changes_api):
        change_id, token = requested(changes_api, {"delivery_method": "web"})
        replaced = profile_body(contact={"address": "東京都港区芝公園4-2-8"})
        status, body = accounts_api.replay("put_account.json", body=replaced)
        assert (status, body["error"]["code"]) == (409, "change_request_required")
        assert confirm(changes_api, change_id, token)[0] == 200
        after = profile(accounts_api)
        assert (after["billing_contact"]["address"], after["delivery_method"]) == ("東京都千代田区丸の内1-1-1", "web")

    def test_usage_alerts_given_off_at_creation_are_turned_on_by_a_confirmed_change(self, accounts_api, changes_api):
        assert accounts_api.replay("put_account.json", body=profile_body(usage_alerts=False))[0] == 201
        assert profile(accounts_api)["usage_alerts"] is False
        assert stored_profile()["terms"]["M"]["usage_alerts"] == {"BOOL": False}

        change_id, token = requested(changes_api, {"usage_alerts": True})
        assert "ご利用状況のお知らせメール: 受け取らない → 受け取る" in sent_emails()[-1].body
        assert profile(accounts_api)["usage_alerts"] is False  # not until the customer confirms
        assert confirm(changes_api, change_id, token)[0] == 200
        assert profile(accounts_api)["usage_alerts"] is True

    def test_confirming_keeps_the_months_counts_and_gate(self, account, changes_api, counts_api):
        counts_api.replay("record_count.json")
        change_id, token = requested(changes_api, {"delivery_method": "web"})
        assert confirm(changes_api, change_id, token)[0] == 200
        status, body = counts_api.replay("get_usage.json")
        assert (status, body["peak"], body["last_count"]) == (200, 12345, 12345)


class TestRefusals:
    def test_an_unknown_account_is_404_and_sends_nothing(self, aws, changes_api):
        status, body = request_change(changes_api, {"delivery_method": "web"}, account="ghost")
        assert (status, body["error"]["code"]) == (404, "account_not_found")
        assert sent_emails() == []

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"plan": "enterprise"}, "plan"),
            ({"options": ["carrier_pigeon"]}, "carrier_pigeon"),
            ({"billing_contact": {"postal_code": "1000005"}}, "billing_contact.postal_code"),
            ({"payment_method": "cash"}, "payment_method"),
            ({"billing_contact": {"fax": "03-0000-0000"}}, "fax"),
            ({"billing_contact": {"email": "keiri@例え.jp"}}, "billing_contact.email"),
        ],
    )
    def test_bad_changes_are_400_naming_the_field_and_store_and_send_nothing(
        self, account, changes_api, changes, field
    ):
        status, body = request_change(changes_api, changes)
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        assert field in body["error"]["message"]
        assert sent_emails() == []
        items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
        assert not [i for i in items if i["pk"]["S"].startswith("CHANGE#")]

    @pytest.mark.parametrize("closed_through", [None, "2026-05"])
    @pytest.mark.parametrize("effective_month", ["2026-03", "2025-12"])
    def test_an_effective_month_before_the_contract_starts_is_400_and_stores_and_sends_nothing(
        self, account, accounts_api, changes_api, effective_month, closed_through
    ):
        # Given an account whose contract starts in 2026-04 (and, in one case, whose months through 2026-05 closed)
        if closed_through:
            close_gate(account, closed_through)
        before = profile(accounts_api)
        # When a change asks to take effect before that
        status, body = request_change(changes_api, {"delivery_method": "web"}, effective_month=effective_month)
        # Then it is refused as invalid, saying when the contract starts, and nothing is kept or sent
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        assert "effective_month" in body["error"]["message"] and "2026-04" in body["error"]["message"]
        assert sent_emails() == []
        items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
        assert not [i for i in items if i["pk"]["S"].startswith("CHANGE#")]
        assert profile(accounts_api) == before

    def test_a_change_from_the_month_the_contract_starts_is_taken(self, account, changes_api):
        status, body = request_change(changes_api, {"delivery_method": "web"}, effective_month="2026-04")
        assert (status, body["effective_month"]) == (201, "2026-04")

    def test_malformed_json_is_400(self, account, changes_api):
        status, body = changes_api.replay("request_change.json", body="{not json")
        assert (status, body["error"]["code"]) == (400, "invalid_request")

    def test_an_unknown_change_request_is_404(self, aws, changes_api):
        status, body = changes_api.replay("confirm_change.json")
        assert (status, body["error"]["code"]) == (404, "change_request_not_found")
        status, body = changes_api.replay("approve_change.json")
        assert (status, body["error"]["code"]) == (404, "change_request_not_found")

    def test_a_malformed_change_request_id_is_400(self, aws, changes_api):
        status, body = confirm(changes_api, "not-an-id", "token")
        assert (status, body["error"]["code"]) == (400, "invalid_request")


class TestOperatorApproval:
    def test_a_company_name_change_is_applied_only_by_an_operator(self, account, accounts_api, changes_api):
        status, body = request_change(changes_api, {"billing_contact": {"company_name": "株式会社新商号"}})
        assert (status, body["status"], body["expires_at"]) == (201, "pending_approval", None)
        change_id = body["change_request_id"]
        [notice] = sent_emails()
        assert "確認コード" not in notice.body and "株式会社新商号" in notice.body

        status, body = confirm(changes_api, change_id, "any-token")
        assert (status, body["error"]["code"]) == (409, "approval_required")
        assert profile(accounts_api)["billing_contact"]["company_name"] == "株式会社サンプル商事"

        status, body = approve(changes_api, change_id)
        assert (status, body["status"], body["approved_by"]) == (200, "applied", "佐藤 運用担当")
        assert profile(accounts_api)["billing_contact"]["company_name"] == "株式会社新商号"

        status, body = approve(changes_api, change_id)
        assert (status, body["error"]["code"]) == (409, "already_applied")

    def test_an_operator_cannot_approve_a_change_the_customer_confirms(self, account, accounts_api, changes_api):
        change_id, _ = requested(changes_api, {"delivery_method": "web"})
        status, body = approve(changes_api, change_id)
        assert (status, body["error"]["code"]) == (409, "confirmation_required")
        assert profile(accounts_api)["delivery_method"] == "postal"

    def test_an_approval_needs_the_operators_name(self, account, changes_api):
        status, body = request_change(changes_api, {"billing_contact": {"company_name": "株式会社新商号"}})
        status, body = approve(changes_api, body["change_request_id"], by="")
        assert (status, body["error"]["code"]) == (400, "invalid_request")


class TestInvoices:
    """An invoice keeps the recipient it was issued with; the next one uses the change."""

    @pytest.fixture
    def month(self, account, changes_api):
        month = Month()
        month.report("acme", 12_000, "2026-10-10T12:00:00+09:00")
        return month

    @staticmethod
    def invoice_item(month="2026-10") -> dict:
        return invoice_item("acme", month)

    def test_an_issued_invoice_keeps_its_recipient_after_a_change(self, month, accounts_api, changes_api):
        month.run_close("2026-10")
        issued = self.invoice_item()
        assert issued["recipient"]["M"]["line"]["S"] == "株式会社サンプル商事 経理部 山田 太郎 様"

        change_id, token = requested(
            changes_api, {"billing_contact": {**NEW_CONTACT, "address": "大阪府大阪市北区梅田1-1-1"}}
        )
        assert confirm(changes_api, change_id, token)[0] == 200
        _, body = request_change(changes_api, {"billing_contact": {"company_name": "株式会社新商号"}})
        assert approve(changes_api, body["change_request_id"])[0] == 200
        assert profile(accounts_api)["billing_contact"]["company_name"] == "株式会社新商号"

        assert self.invoice_item() == issued
        month.run_close("2026-10")  # a re-run of the close never rebuilds an issued invoice
        assert self.invoice_item() == issued

    def test_a_change_confirmed_before_the_close_is_on_that_months_invoice(self, month, changes_api):
        change_id, token = requested(
            changes_api, {"billing_contact": {**NEW_CONTACT, "department": None}}, effective_month="2026-10"
        )
        assert confirm(changes_api, change_id, token)[0] == 200
        # and a switch to direct debit, which an operator approves (a signed 口座振替依頼書 stands behind it)
        debit = {"payment_method": "direct_debit", "debit_account": DEBIT_ACCOUNT}
        _, body = request_change(changes_api, debit, effective_month="2026-10")
        assert body["status"] == "pending_approval" and body["changes"]["debit_account"]["account_number"] == "****567"
        assert approve(changes_api, body["change_request_id"])[0] == 200
        month.run_close("2026-10")
        invoice = self.invoice_item()
        recipient = invoice["recipient"]["M"]
        assert recipient["line"]["S"] == "株式会社サンプル商事 鈴木 一郎 様"
        assert recipient["email"]["S"] == "keiri@example.co.jp"
        assert invoice["payment_method"]["S"] == "direct_debit"
        assert invoice["debit_on"]["S"] == "2026-11-27"  # 口座振替日

    def test_a_change_still_unconfirmed_at_the_close_is_not_on_the_invoice(self, month, changes_api):
        requested(changes_api, {"billing_contact": NEW_CONTACT})
        month.run_close("2026-10")
        assert self.invoice_item()["recipient"]["M"]["line"]["S"] == "株式会社サンプル商事 経理部 山田 太郎 様"


class TestAtomicity:
    def test_two_racing_confirmations_apply_the_change_once(self, account, changes_api):
        change_id, _ = requested(changes_api, {"billing_contact": {"phone": "03-5555-0000"}})
        store = changes_api.module.stores.change_requests()
        pending = store.get(change_id)  # both callers read the request while it was pending
        now = datetime.now(UTC)
        store.apply(pending, lambda contract: pending.applied(now, "2026-12"))
        with pytest.raises(AlreadyApplied):
            store.apply(pending, lambda contract: pending.applied(now + timedelta(seconds=1), "2026-12"))
        assert stored_request(change_id)["status"]["S"] == "applied"
        assert len(stored_profile()["term_changes"]["L"]) == 1

    def test_a_month_that_closes_during_the_confirmation_moves_the_change_on(self, account, changes_api, monkeypatch):
        change_id, token = requested(changes_api, {"delivery_method": "web"}, effective_month="2026-10")
        accounts = changes_api.module.stores.accounts()
        read = accounts.get

        def read_then_close(account_id):
            contract = read(account_id)
            monkeypatch.setattr(accounts, "get", read)
            close_gate(account_id, "2026-10")  # the close shuts October between the read and the write
            return contract

        monkeypatch.setattr(accounts, "get", read_then_close)
        status, body = confirm(changes_api, change_id, token)
        assert (status, body["effective_month"]) == (200, "2026-11")
        assert stored_profile()["term_changes"]["L"][0]["M"]["effective_month"]["S"] == "2026-11"
