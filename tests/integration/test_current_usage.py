"""GET /v1/usage/current under moto: the caller's current Tokyo month so far, from real count reports.

The function's Tokyo ``today`` is pinned to 2026-12-07; the reports are in its past (the record-count API
refuses a report from the future by the real clock).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from billing.dal import stores
from tests.conftest import assert_documented
from tests.factories import profile_body
from tests.integration.billing_month import Month, customer_api

TODAY = date(2026, 12, 7)
ROUTE = "GET /v1/usage/current"


@pytest.fixture
def month(aws):
    month = Month()
    assert month.accounts.replay("put_account.json")[0] == 201  # acme: standard + bridge, since 2026-04
    return month


def report(month: Month, count: int, observed_at: str, account: str = "acme") -> None:
    status, body = month.report(account, count, observed_at)
    assert status == 200, body


def current(account: str | None = "acme", **changes) -> tuple[int, dict]:
    response = customer_api(account, "get_usage_current.json", today=TODAY, **changes)
    body = json.loads(response["body"])
    assert_documented(ROUTE, response["statusCode"], body)
    return response["statusCode"], body


def dynamodb_calls() -> list[str]:
    """The DynamoDB operations made from now on, by every store (they share the store's one client)."""
    calls: list[str] = []
    client = stores.usage_alerts().client
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def test_the_month_so_far_with_its_bracket_estimate_and_daily_highs(month):
    # Given acme (standard + bridge) reported three counts over two days of December
    report(month, 8_000, "2026-12-02T09:00:00+09:00")
    report(month, 10_500, "2026-12-03T14:05:00+09:00")
    report(month, 9_200, "2026-12-03T18:30:00+09:00")  # records deleted later that day: the peak stands
    # When the customer asks for the current month
    status, body = current()
    # Then the peak so far sets the bracket and the estimate, and each day shows its high
    assert status == 200
    assert body == {
        "month": "2026-12",
        "peak": 10_500,
        "peak_observed_at": "2026-12-03T14:05:00+09:00",
        "bracket": {"index": 2, "from": 10_001, "to": 20_000},
        "estimate": {"subtotal": 10_000, "tax": 1_000, "total": 11_000},
        "daily": [{"date": "2026-12-02", "high": 8_000}, {"date": "2026-12-03", "high": 10_500}],
    }
    # And it is the platform's usage API's month, read the same way
    status, usage = month.counts.replay("get_usage.json", path="/v1/accounts/acme/usage/2026-12")
    assert status == 200
    assert {key: usage[key] for key in body} == body


def test_a_month_with_no_report_yet_stands_at_its_opening_count(month):
    # Given acme's last count of November, and nothing reported in December yet
    report(month, 12_000, "2026-11-20T10:00:00+09:00")
    report(month, 10_200, "2026-11-30T22:00:00+09:00")
    # When the customer asks for the current month / Then its peak is the opening count, from 00:00 on the 1st
    status, body = current()
    assert status == 200
    assert body == {
        "month": "2026-12",
        "peak": 10_200,
        "peak_observed_at": "2026-12-01T00:00:00+09:00",
        "bracket": {"index": 2, "from": 10_001, "to": 20_000},
        "estimate": {"subtotal": 10_000, "tax": 1_000, "total": 11_000},
        "daily": [],
    }


def test_an_account_that_never_reported_is_at_zero(month):
    status, body = current()
    assert status == 200
    assert (body["peak"], body["peak_observed_at"], body["daily"]) == (0, None, [])
    assert body["bracket"] == {"index": 1, "from": 0, "to": 10_000}
    assert body["estimate"] == {"subtotal": 7_000, "tax": 700, "total": 7_700}  # standard ¥4,000 + bridge ¥3,000


def test_the_account_comes_only_from_the_token(month):
    # Given another customer, beta, with a much higher month
    body = profile_body("direct_debit", "web")
    assert month.accounts.replay("put_account.json", path="/v1/accounts/beta", body=body)[0] == 201
    report(month, 10_500, "2026-12-03T14:05:00+09:00")
    report(month, 35_000, "2026-12-02T09:00:00+09:00", account="beta")
    # When acme's token names beta in the query string or the path / Then it is refused, and never beta's month
    status, refused = current(query={"account_id": "beta"})
    assert (status, refused["error"]["code"]) == (400, "invalid_request")
    for path in ("/v1/usage/current/beta", "/v1/accounts/beta/usage/current", "/v1/usage/beta"):
        status, refused = current(path=path)
        assert (status, refused["error"]["code"]) == (404, "not_found"), path
    # And each token reads its own month
    assert current()[1]["peak"] == 10_500
    assert current("beta")[1]["peak"] == 35_000


@pytest.mark.parametrize("claim", [None, "", "../beta", "nobody-here"])
def test_a_token_without_an_account_is_404(month, claim):
    # Given a token with no account claim, a malformed one, or one whose account does not exist
    status, body = current(claim)
    # Then it is 404, as the statements routes answer, never a month
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_the_answer_costs_the_usage_reads_and_no_call_for_the_estimate(month):
    # Given acme's October, closed: November's opening is recorded, December's is not yet (November is open)
    report(month, 10_500, "2026-10-10T12:00:00+09:00")
    report(month, 9_800, "2026-10-31T23:00:00+09:00")
    month.run_close("2026-10")
    # When the customer asks for December / Then the profile, the month's item, and the months before it
    calls = dynamodb_calls()
    status, body = current()
    assert (status, body["peak"], body["daily"], body["estimate"]["total"]) == (200, 9_800, [], 7_700)
    assert calls == ["GetItem", "GetItem", "Query"]
    # And once November's close has recorded December's opening: the two reads alone
    month.run_close("2026-11")
    calls.clear()
    status, body = current()
    assert (status, body["peak"], body["estimate"]["total"]) == (200, 9_800, 7_700)
    assert calls == ["GetItem", "GetItem"]
    # The same reads as the usage on its own: the estimate is priced from the cached tariff, with no call
    calls.clear()
    stores.usage_alerts().month_report("acme", "2026-12")
    assert calls == ["GetItem", "GetItem"]


def test_the_page_reads_the_month_once_besides_its_statements(month):
    # Given acme's November, still open (its profile tells December's opening), and a December report
    report(month, 9_000, "2026-11-30T10:00:00+09:00")
    report(month, 10_500, "2026-12-03T14:05:00+09:00")
    # When the customer opens the page / Then it reads what the list reads, and the month's two items once
    calls = dynamodb_calls()
    assert customer_api("acme", "list_statements.json", today=TODAY)["statusCode"] == 200
    statements_only = list(calls)
    calls.clear()
    response = customer_api("acme", "statements_page.json", today=TODAY)
    assert response["statusCode"] == 200
    assert calls == [*statements_only, "GetItem", "GetItem"]
    html = response["body"]
    assert html.index("今月のご利用状況") < html.index("表示できる請求書はまだありません")
    assert "2026年12月" in html and "10,500件" in html and "10,001〜20,000件" in html and "¥11,000" in html
