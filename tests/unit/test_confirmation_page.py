"""The change confirmation page: what it shows, what it escapes, and what the browser may do with it."""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape

import pytest

from billing.contracts.accounts import AccountProfile
from billing.contracts.change_requests import change_rows
from billing.contracts.confirmation_page import (
    CONTENT_SECURITY_POLICY,
    HEADERS,
    applied_page,
    confirmation_page,
    error_page,
)
from billing.errors import (
    AccountNotFound,
    AlreadyApplied,
    ApprovalRequired,
    ChangeRequestNotFound,
    InvalidRequest,
    InvalidToken,
    TokenExpired,
)
from tests.factories import account_profile
from tests.unit.test_change_requests import NOW, request
from tests.unit.test_statement_page import HOSTILE as STATEMENT_PAGE_HOSTILE
from tests.unit.test_statement_page import RAW as STATEMENT_PAGE_RAW


@pytest.fixture
def profile() -> AccountProfile:
    return account_profile()  # bank transfer, postal, 山田 太郎 of 経理部, 03-1234-5678


HOSTILE = '<script>alert("x")</script> & \'株式会社"><img src=x>'


def test_the_page_shows_each_change_before_and_after():
    # Given a direct-debit account's request that changes a contact field and both methods
    profile = account_profile("direct_debit")
    made, token = request(
        profile, billing_contact={"phone": "03-5555-0000"}, payment_method="bank_transfer", delivery_method="web"
    )
    # When its confirmation page is drawn
    html = confirmation_page(made, change_rows(made.changes, profile), token)
    # Then each change reads label, before, after, in that order
    changes = re.findall(
        r'<p class="label">(.*?)</p>\s*'
        r'<p class="before"><span class="tag">変更前</span> <span class="value">(.*?)</span></p>\s*'
        r'<p class="after"><span class="tag">変更後</span> <span class="value">(.*?)</span></p>',
        html,
    )
    assert changes == [
        ("電話番号", "03-1234-5678", "03-5555-0000"),
        ("お支払い方法", "口座振替", "銀行振込"),
        ("請求書の受け取り方法", "郵送", "WEB明細"),
    ]
    assert "2026年12月2日 10:00（日本時間）" in html  # how long the link works
    assert made.change_request_id in html


def test_a_removed_field_reads_as_none(profile):
    made, token = request(profile, billing_contact={"department": None})
    html = confirmation_page(made, change_rows(made.changes, profile), token)
    assert '<span class="tag">変更後</span> <span class="value">（なし）</span>' in html


def test_hostile_customer_text_is_escaped_everywhere(profile):
    # Given a customer who typed markup, quotes and ampersands into their address
    made, token = request(profile, billing_contact={"address": HOSTILE, "person_name": 'a"b&c'})
    rows = change_rows(made.changes, profile)
    # When it is shown on the page and on the page that says it is applied
    for html in (confirmation_page(made, rows, token), applied_page(made.applied(NOW, "2026-12"), rows)):
        # Then it shows as text, never as markup
        assert "<script" not in html and "<img" not in html
        assert (
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;株式会社&quot;&gt;&lt;img src=x&gt;" in html
        )
        assert "a&quot;b&amp;c" in html


@pytest.mark.parametrize("text", STATEMENT_PAGE_HOSTILE)
def test_markup_in_any_contact_field_stays_text_before_and_after(text):
    # Given a profile whose stored contact is already markup, and a change to more markup in each field
    before = account_profile(person_name=text[:30], contact={"company_name": text, "address": text})
    changes = {"department": text, "person_name": text[:29] + "2", "address": text + "3"}
    made, token = request(before, billing_contact=changes)
    rows = change_rows(made.changes, before)
    for html in (confirmation_page(made, rows, token), applied_page(made.applied(NOW, "2026-12"), rows)):
        # Then nothing of it is markup: no element, attribute or comment it opened survives
        leaked = [raw for raw in STATEMENT_PAGE_RAW if raw in html]
        assert not leaked, leaked
        assert escape(text, quote=True) in html and escape(text + "3", quote=True) in html


def test_the_token_is_only_in_the_hidden_field_of_a_form_posted_to_this_site(profile):
    made, token = request(profile, delivery_method="web")
    html = confirmation_page(made, change_rows(made.changes, profile), token)
    assert html.count(token) == 1
    assert f'<input type="hidden" name="token" value="{token}">' in html
    (form,) = re.findall(r"<form [^>]*>", html)
    # Relative to the page's own path (/change-requests/<id>): the same site, whatever the stage or domain
    assert form == f'<form method="post" action="{made.change_request_id}/confirm">'
    assert "<button" in html and "変更を確定する" in html


def test_the_pages_load_nothing_and_run_nothing(profile):
    made, token = request(profile, delivery_method="web")
    rows = change_rows(made.changes, profile)
    for html in (
        confirmation_page(made, rows, token),
        applied_page(made.applied(NOW, "2026-12"), rows),
        error_page(None)[1],
    ):
        assert not re.search(r"<(script|link|img|iframe|object)\b|src=|href=|url\(", html)
        assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in html
        assert '<html lang="ja">' in html


def test_the_policy_allows_exactly_the_pages_own_style(profile):
    # Given the page's one inline stylesheet
    made, token = request(profile, delivery_method="web")
    html = confirmation_page(made, change_rows(made.changes, profile), token)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    # Then the policy names its hash (so a browser applies it), forbids everything else, and allows no inline script
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives == {
        "default-src": "'none'",
        "style-src": f"'sha256-{digest}'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
    assert HEADERS["Cache-Control"] == "no-store"
    assert HEADERS["Referrer-Policy"] == "no-referrer"
    assert HEADERS["X-Content-Type-Options"] == "nosniff"
    assert HEADERS["Content-Type"] == "text/html; charset=utf-8"


def test_the_applied_page_says_so_and_names_the_month_it_applies_from(profile):
    made, _ = request(profile, delivery_method="web")
    rows = change_rows(made.changes, profile)
    html = applied_page(made.applied(NOW, "2026-12"), rows)
    assert "<h1>変更を確定しました</h1>" in html
    assert "WEB明細" in html

    # It names the month the change took effect from (a month closed while it waited moves it on)
    assert "2027年1月ご利用分から適用されます" in applied_page(made.applied(NOW, "2027-01"), rows)


@pytest.mark.parametrize(
    ("error", "status", "heading"),
    [
        (InvalidRequest("bad"), 400, "リンクが正しくありません"),
        (InvalidToken(), 400, "確認コードが一致しません"),
        (AlreadyApplied("x"), 409, "この変更はすでに確定しています"),
        (ApprovalRequired("x"), 409, "担当者の承認が必要な変更です"),
        (TokenExpired("x"), 410, "確認の有効期限が切れています"),
        (ChangeRequestNotFound("x"), 404, "お申し込みが見つかりません"),
        (AccountNotFound("x"), 404, "お申し込みが見つかりません"),
        (None, 500, "変更を確定できませんでした"),
    ],
)
def test_each_refusal_is_a_japanese_page_with_its_status(error, status, heading):
    answered, html = error_page(error)
    assert answered == status
    assert f"<h1>{heading}</h1>" in html and f"<title>{heading}</title>" in html
    assert "error" not in html  # no code, no English message: a page for a customer
