"""The change confirmation page under moto: the emailed link, a GET that applies nothing, a POST that does.

Every answer is a Japanese HTML page with no-store, no-referrer, nosniff and
a strict Content-Security-Policy; refusals included, and never JSON.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest

from billing.contracts.confirmation_page import CONTENT_SECURITY_POLICY
from tests.conftest import LambdaContext, load_event
from tests.integration.conftest import CUSTOMER_API_URL, TABLE, Api
from tests.integration.test_change_requests import (
    NEW_CONTACT,
    profile,
    request_change,
    sent_emails,
    stored_request,
)

FORM = "application/x-www-form-urlencoded"
ID = "0123456789abcdef0123456789abcdef"  # well formed, never issued


@pytest.fixture
def account(accounts_api) -> str:
    status, _ = accounts_api.replay("put_account.json")
    assert status == 201
    return "acme"


@pytest.fixture
def changes_api(aws) -> Api:
    return Api("change_requests")


@pytest.fixture
def page_api(aws) -> Api:
    return Api("change_confirmation")


def emailed_link(changes_api, changes) -> tuple[str, str]:
    """Request a change; the id and token in the link of the email it sent."""
    status, body = request_change(changes_api, changes)
    assert status == 201, body
    link = re.search(
        rf"{re.escape(CUSTOMER_API_URL)}/change-requests/([0-9a-f]{{32}})\?token=(\S+)", sent_emails()[-1].body
    )
    assert link, sent_emails()[-1].body
    assert link.group(1) == body["change_request_id"]
    return link.group(1), link.group(2)


def answer(api: Api, event: dict) -> tuple[int, dict, str]:
    response = api.module.lambda_handler(event, LambdaContext())
    headers = {name.lower(): value for name, value in response["headers"].items()}
    # Every answer is a page with the headers that keep the token to itself
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response["body"].startswith("<!doctype html>")
    return response["statusCode"], headers, response["body"]


def show(api: Api, change_request_id: str, query: str) -> tuple[int, str]:
    event = load_event("change_confirmation_page.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/change-requests/{change_request_id}"
    event["pathParameters"] = {"change_request_id": change_request_id}
    event["rawQueryString"] = query
    event.pop("queryStringParameters", None)
    status, _, html = answer(api, event)
    return status, html


def post(
    api: Api, change_request_id: str, body: str | bytes, content_type: str | None = FORM, encoded: bool = True
) -> tuple[int, str]:
    event = load_event("confirm_change_page.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/change-requests/{change_request_id}/confirm"
    event["pathParameters"] = {"change_request_id": change_request_id}
    raw = body.encode() if isinstance(body, str) else body
    if encoded:  # as API Gateway passes a form
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    else:  # as a gateway that passes text bodies as they are
        event["body"], event["isBase64Encoded"] = raw.decode(), False
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type
    status, _, html = answer(api, event)
    return status, html


def confirm(api: Api, change_request_id: str, token: str, **kwargs) -> tuple[int, str]:
    return post(api, change_request_id, f"token={quote(token)}", **kwargs)


def heading(html: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", html).group(1)


class TestTheEmailedLink:
    def test_opening_the_link_shows_the_change_and_applies_nothing(self, account, accounts_api, changes_api, page_api):
        # Given a change request and the link its email carries
        before = profile(accounts_api)
        change_id, token = emailed_link(changes_api, {"billing_contact": NEW_CONTACT, "delivery_method": "web"})
        # When the link is opened, twice (a mail scanner, then the customer)
        for _ in range(2):
            status, html = show(page_api, change_id, f"token={token}")
            # Then the page shows each change before → after, and the token only in its form
            assert status == 200
            assert heading(html) == "ご請求先情報の変更の確認"
            assert "山田 太郎" in html and "鈴木 一郎" in html
            assert "billing@example.co.jp" in html and "keiri@example.co.jp" in html
            assert "郵送" in html and "WEB明細" in html
            assert html.count(token) == 1 and f'name="token" value="{token}"' in html
        # And nothing was applied
        assert profile(accounts_api) == before
        assert stored_request(change_id)["status"]["S"] == "pending_confirmation"

    @pytest.mark.parametrize("encoded", [True, False], ids=["base64-form", "text-form"])
    def test_the_confirm_button_applies_the_change(self, account, accounts_api, changes_api, page_api, encoded):
        before = profile(accounts_api)
        change_id, token = emailed_link(changes_api, {"billing_contact": NEW_CONTACT, "delivery_method": "web"})
        # When the page's form is posted with the token
        status, html = confirm(page_api, change_id, token, encoded=encoded)
        # Then the page says it is done, and the profile has the change
        assert status == 200
        assert heading(html) == "変更を確定しました"
        assert "鈴木 一郎" in html and "WEB明細" in html
        after = profile(accounts_api)
        assert after["billing_contact"] == {**before["billing_contact"], **NEW_CONTACT}
        assert after["delivery_method"] == "web"
        assert stored_request(change_id)["status"]["S"] == "applied"

    def test_a_form_that_says_utf_8_is_taken(self, account, changes_api, page_api):
        change_id, token = emailed_link(changes_api, {"delivery_method": "web"})
        assert confirm(page_api, change_id, token, content_type=f"{FORM}; charset=UTF-8")[0] == 200


class TestRefusals:
    def test_a_wrong_token_is_a_400_page_and_changes_nothing(self, account, accounts_api, changes_api, page_api):
        before = profile(accounts_api)
        change_id, token = emailed_link(changes_api, {"delivery_method": "web"})
        wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert show(page_api, change_id, f"token={wrong}")[0] == 400
        status, html = confirm(page_api, change_id, wrong)
        assert (status, heading(html)) == (400, "確認コードが一致しません")
        assert "WEB明細" not in html  # nothing of the request shows without its token
        assert profile(accounts_api) == before
        assert confirm(page_api, change_id, token)[0] == 200  # the right token still works

    def test_a_used_link_is_a_409_page(self, account, accounts_api, changes_api, page_api):
        change_id, token = emailed_link(changes_api, {"billing_contact": {"phone": "03-5555-0000"}})
        assert confirm(page_api, change_id, token)[0] == 200
        for status, html in (show(page_api, change_id, f"token={token}"), confirm(page_api, change_id, token)):
            assert (status, heading(html)) == (409, "この変更はすでに確定しています")
        assert profile(accounts_api)["billing_contact"]["phone"] == "03-5555-0000"
        key = {"pk": {"S": "ACCOUNT#acme"}, "sk": {"S": "PROFILE"}}
        item = boto3.client("dynamodb").get_item(TableName=TABLE, Key=key)["Item"]
        assert len(item["term_changes"]["L"]) == 1  # not applied again

    def test_a_link_older_than_seven_days_is_a_410_page(
        self, account, accounts_api, changes_api, page_api, monkeypatch
    ):
        before = profile(accounts_api)
        requested_at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        monkeypatch.setattr(changes_api.module, "now", lambda: requested_at)
        change_id, token = emailed_link(changes_api, {"delivery_method": "web"})
        monkeypatch.setattr(page_api.module, "now", lambda: requested_at + timedelta(days=7, seconds=1))
        for status, html in (show(page_api, change_id, f"token={token}"), confirm(page_api, change_id, token)):
            assert (status, heading(html)) == (410, "確認の有効期限が切れています")
        assert profile(accounts_api) == before
        monkeypatch.setattr(page_api.module, "now", lambda: requested_at + timedelta(days=6))
        assert confirm(page_api, change_id, token)[0] == 200  # a day before expiry it still works

    def test_an_unknown_request_is_a_404_page(self, aws, page_api):
        assert show(page_api, ID, "token=abc")[0] == 404
        status, html = confirm(page_api, ID, "abc")
        assert (status, heading(html)) == (404, "お申し込みが見つかりません")

    def test_a_legal_name_change_cannot_be_confirmed_from_the_page(self, account, accounts_api, changes_api, page_api):
        before = profile(accounts_api)
        status, body = request_change(changes_api, {"billing_contact": {"company_name": "株式会社新商号"}})
        assert status == 201
        status, html = confirm(page_api, body["change_request_id"], "any-token")
        assert (status, heading(html)) == (409, "担当者の承認が必要な変更です")
        assert profile(accounts_api) == before

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            ('{"token": "abc"}', "application/json"),
            ("token=abc", None),
            ("token=abc", "text/plain"),
            ("token=abc", f"{FORM}; charset=iso-8859-1"),
            (b"token=\xff\xfe", FORM),  # not UTF-8
            ("token=%FF", FORM),  # an escape that is not UTF-8
            ("token=a&token=b", FORM),
            ("", FORM),
            ("tokn=abc", FORM),
            ("token=abc&extra=1", FORM),
            ("token", FORM),
            ("token=<script>", FORM),
            ("token=" + "a" * 129, FORM),
        ],
        ids=[
            "json",
            "no-content-type",
            "text",
            "latin-1",
            "not-utf8",
            "escaped-not-utf8",
            "twice",
            "empty",
            "misspelt",
            "extra-field",
            "no-equals",
            "markup",
            "too-long",
        ],
    )
    def test_bad_input_is_a_400_page(self, account, accounts_api, changes_api, page_api, body, content_type):
        before = profile(accounts_api)
        change_id, _ = emailed_link(changes_api, {"delivery_method": "web"})
        status, html = post(page_api, change_id, body, content_type=content_type)
        assert (status, heading(html)) == (400, "リンクが正しくありません")
        assert profile(accounts_api) == before

    @pytest.mark.parametrize("query", ["", "token=a&token=b", "token=abc&utm_source=x", "token=%FF", "tok"])
    def test_a_link_with_a_bad_query_is_a_400_page(self, account, changes_api, page_api, query):
        change_id, _ = emailed_link(changes_api, {"delivery_method": "web"})
        assert show(page_api, change_id, query)[0] == 400

    @pytest.mark.parametrize("change_id", ["ABCDEF0123456789ABCDEF0123456789", "abc", ID + "0", ID[:-1] + "g"])
    def test_an_id_that_is_not_32_hex_is_a_400_page(self, aws, page_api, change_id):
        assert show(page_api, change_id, "token=abc")[0] == 400
        assert confirm(page_api, change_id, "abc")[0] == 400

    def test_a_path_no_route_takes_is_a_404_page(self, aws, page_api):
        event = load_event("change_confirmation_page.json")
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/change-requests"
        status, _, html = answer(page_api, event)
        assert (status, heading(html)) == (404, "お申し込みが見つかりません")
