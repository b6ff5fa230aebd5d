"""The platform API's error table (README, docs/openapi.json).

Every bad request gets its 4xx, in the error shape, and changes nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from local.client import SignedSession
from tests.local.support import TOKYO, new_account_id, profile, recent_times


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def usage(api: SignedSession, account: str, month: str) -> dict:
    response = api.get(f"/v1/accounts/{account}/usage/{month}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def reported(api: SignedSession, account: str) -> tuple[str, str]:
    """An account that has reported 500 records this month; returns (account, month)."""
    (moment,) = recent_times(1)
    response = api.post(f"/v1/accounts/{account}/record-counts", json={"count": 500, "observed_at": moment.isoformat()})
    assert response.status_code == 200, response.text
    return account, moment.strftime("%Y-%m")


def _now_plus(minutes: int) -> str:
    (moment,) = recent_times(1)
    return (moment + timedelta(minutes=minutes, seconds=2)).isoformat()


BAD_REPORTS = {
    "malformed JSON": lambda at: '{"count": 1, "observed_at": ',
    "empty body": lambda at: "",
    "body is an array": lambda at: json.dumps([{"count": 1, "observed_at": at}]),
    "body is a string": lambda at: json.dumps("count=1"),
    "body is null": lambda at: "null",
    "missing count": lambda at: json.dumps({"observed_at": at}),
    "missing observed_at": lambda at: json.dumps({"count": 1}),
    "extra field": lambda at: json.dumps({"count": 1, "observed_at": at, "source": "crm"}),
    "count is JSON true": lambda at: json.dumps({"count": True, "observed_at": at}),
    "count is 1e400": lambda at: json.dumps({"count": 0, "observed_at": at}).replace("0", "1e400", 1),
    "count is NaN": lambda at: json.dumps({"count": float("nan"), "observed_at": at}),
    "count is a string": lambda at: json.dumps({"count": "12", "observed_at": at}),
    "count is negative": lambda at: json.dumps({"count": -1, "observed_at": at}),
    "count is 1.5": lambda at: json.dumps({"count": 1.5, "observed_at": at}),
    "count is over 1,000,000,000": lambda at: json.dumps({"count": 1_000_000_001, "observed_at": at}),
    "observed_at has no UTC offset": lambda at: json.dumps({"count": 1, "observed_at": at[:19]}),
    "observed_at is not a timestamp": lambda at: json.dumps({"count": 1, "observed_at": "yesterday"}),
    "observed_at is a number": lambda at: json.dumps({"count": 1, "observed_at": 1795568400}),
    "observed_at is 6 minutes ahead": lambda at: json.dumps({"count": 1, "observed_at": _now_plus(6)}),
    "observed_at in the year 1": lambda at: json.dumps({"count": 1, "observed_at": "0001-01-01T00:00:00+09:00"}),
    "body nested 100,000 deep": lambda at: "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("make_body", BAD_REPORTS.values(), ids=BAD_REPORTS.keys())
def test_a_bad_count_report_is_refused_and_changes_nothing(api: SignedSession, reported, make_body):
    # Given an account whose month stands at 500
    account, month = reported
    before = usage(api, account, month)
    (moment,) = recent_times(1)
    # When the platform sends a bad report
    response = api.post(
        f"/v1/accounts/{account}/record-counts",
        data=make_body(moment.isoformat()).encode(),
        headers={"Content-Type": "application/json"},
    )
    # Then it gets 400 invalid_request and the month is as it was
    assert_error(response, 400, "invalid_request")
    assert usage(api, account, month) == before


def test_the_largest_allowed_count_is_accepted(api: SignedSession, account: str):
    (moment,) = recent_times(1)
    response = api.post(
        f"/v1/accounts/{account}/record-counts", json={"count": 1_000_000_000, "observed_at": moment.isoformat()}
    )
    assert response.status_code == 200, response.text
    assert response.json()["peak"] == 1_000_000_000


BAD_ACCOUNT_IDS = {"65 characters": "a" * 65, "a/b encoded as %2F": "a%2Fb", "a space": "a%20b", "a dot": "a.b"}


@pytest.mark.parametrize("account_id", BAD_ACCOUNT_IDS.values(), ids=BAD_ACCOUNT_IDS.keys())
def test_a_bad_account_id_is_refused_on_every_route(api: SignedSession, account_id: str):
    (moment,) = recent_times(1)
    report = {"count": 1, "observed_at": moment.isoformat()}
    assert_error(api.put(f"/v1/accounts/{account_id}", json=profile()), 400, "invalid_request")
    assert_error(api.get(f"/v1/accounts/{account_id}"), 400, "invalid_request")
    assert_error(api.post(f"/v1/accounts/{account_id}/record-counts", json=report), 400, "invalid_request")
    assert_error(api.get(f"/v1/accounts/{account_id}/usage/2026-11"), 400, "invalid_request")


def test_an_account_id_of_64_characters_is_accepted(api: SignedSession):
    account_id = new_account_id().ljust(64, "x")
    assert api.put(f"/v1/accounts/{account_id}", json=profile()).status_code == 201


@pytest.mark.parametrize("month", ["2026-13", "202611", "2026-1", "2026-00", "26-11", "2026-11-01", "0000-01"])
def test_a_bad_month_in_the_usage_path_is_refused(api: SignedSession, account: str, month: str):
    assert_error(api.get(f"/v1/accounts/{account}/usage/{month}"), 400, "invalid_request")


def test_a_count_after_the_contract_ended_is_refused(api: SignedSession, operator: SignedSession):
    # Given an account that started in January and was cancelled in March: its 6-month term ran through June
    (moment,) = recent_times(1)
    account = new_account_id("ended")
    assert api.put(f"/v1/accounts/{account}", json=profile(contract_start="2026-01-01")).status_code == 201
    response = operator.post(f"/v1/accounts/{account}/cancellation", json={"received_on": "2026-03-10"})
    assert (response.status_code, response.json()["contract_end"]) == (201, "2026-06-30")
    # When the platform reports a count now, then it is 409 account_cancelled and nothing is kept
    response = api.post(f"/v1/accounts/{account}/record-counts", json={"count": 7, "observed_at": moment.isoformat()})
    assert_error(response, 409, "account_cancelled")
    assert usage(api, account, f"{moment.astimezone(TOKYO):%Y-%m}")["last_count"] in (None, 0)


def test_an_unknown_account_is_not_found(api: SignedSession):
    # Given an account id the platform never PUT
    stranger = new_account_id("stranger")
    (moment,) = recent_times(1)
    # Then reading it, its usage, or reporting for it answers 404 account_not_found
    assert_error(api.get(f"/v1/accounts/{stranger}"), 404, "account_not_found")
    assert_error(api.get(f"/v1/accounts/{stranger}/usage/{moment:%Y-%m}"), 404, "account_not_found")
    report = {"count": 10, "observed_at": moment.isoformat()}
    assert_error(api.post(f"/v1/accounts/{stranger}/record-counts", json=report), 404, "account_not_found")
    # And the report did not create it
    assert_error(api.get(f"/v1/accounts/{stranger}"), 404, "account_not_found")


BAD_PROFILES = {
    "unknown plan": {"plan": "gold"},
    "unknown option": {"options": ["telepathy"]},
    "unknown payment method": {"payment_method": "cash"},
    "unknown delivery method": {"delivery_method": "fax"},
    "postal code without hyphen": {
        "billing_contact": {**profile()["billing_contact"], "postal_code": "1000005"},
    },
    "extra field": {"discount": 10},
}


@pytest.mark.parametrize("change", BAD_PROFILES.values(), ids=BAD_PROFILES.keys())
def test_a_bad_profile_is_refused_and_creates_nothing(api: SignedSession, change: dict):
    account_id = new_account_id()
    assert_error(api.put(f"/v1/accounts/{account_id}", json=profile(**change)), 400, "invalid_request")
    assert_error(api.get(f"/v1/accounts/{account_id}"), 404, "account_not_found")


def test_a_bad_profile_leaves_an_existing_profile_as_it_was(api: SignedSession, account: str):
    before = api.get(f"/v1/accounts/{account}").json()
    assert_error(api.put(f"/v1/accounts/{account}", json=profile(plan="gold")), 400, "invalid_request")
    assert api.get(f"/v1/accounts/{account}").json() == before


def test_put_answers_201_when_it_creates_200_to_a_retry_and_409_to_a_change(api: SignedSession):
    account_id = new_account_id()
    first = api.put(f"/v1/accounts/{account_id}", json=profile())
    retry = api.put(f"/v1/accounts/{account_id}", json=profile())
    change = api.put(f"/v1/accounts/{account_id}", json=profile(delivery_method="web"))
    assert (first.status_code, retry.status_code) == (201, 200)
    assert_error(change, 409, "change_request_required")
    assert api.get(f"/v1/accounts/{account_id}").json()["delivery_method"] == profile()["delivery_method"]


def test_a_month_without_reports_answers_its_opening_count(api: SignedSession, account: str):
    (moment,) = recent_times(1)
    body = usage(api, account, f"{moment:%Y-%m}")
    assert (body["peak"], body["opening_count"], body["closed"]) == (0, 0, False)
