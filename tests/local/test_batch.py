"""POST /v1/record-counts: 1 to 100 reports, one result each, in order; one bad report never fails the others."""

from __future__ import annotations

import pytest

from local.client import SignedSession
from tests.local.support import new_account_id, recent_times, same_instant


def report(account: str, count: int, at) -> dict:
    return {"account_id": account, "count": count, "observed_at": at.isoformat()}


def usage(api: SignedSession, account: str, month: str) -> dict:
    response = api.get(f"/v1/accounts/{account}/usage/{month}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("size", [0, 101])
def test_a_batch_of_0_or_101_reports_is_refused_and_changes_nothing(api: SignedSession, account: str, size: int):
    moments = recent_times(max(size, 1))
    reports = [
        {"account_id": account, "count": 1000 + index, "observed_at": at.isoformat()}
        for index, at in enumerate(moments)
    ][:size]
    response = api.post("/v1/record-counts", json={"reports": reports})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert usage(api, account, moments[0].strftime("%Y-%m"))["peak"] == 0


@pytest.mark.parametrize("body", [[], {"reports": "x"}, {"reports": []}, {"reports": [], "extra": 1}, {}])
def test_a_batch_that_is_not_an_object_with_a_reports_array_is_refused(api: SignedSession, body):
    response = api.post("/v1/record-counts", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("size", [1, 100])
def test_a_batch_of_1_or_100_reports_is_applied(api: SignedSession, account: str, size: int):
    moments = recent_times(size)
    reports = [
        {"account_id": account, "count": 10 * (index + 1), "observed_at": at.isoformat()}
        for index, at in enumerate(moments)
    ]
    response = api.post("/v1/record-counts", json={"reports": reports})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [200] * size
    month = usage(api, account, moments[0].strftime("%Y-%m"))
    assert month["peak"] == 10 * size
    assert same_instant(month["peak_observed_at"], moments[-1])


def test_a_mixed_batch_answers_each_report_in_order_and_applies_the_good_ones(api: SignedSession, account: str):
    # Given a batch with good and bad reports
    first, second, third, fourth, fifth = recent_times(5)
    stranger = new_account_id("stranger")
    reports = [
        {"account_id": account, "count": 300, "observed_at": first.isoformat()},
        {"account_id": account, "count": -5, "observed_at": second.isoformat()},
        {"account_id": stranger, "count": 10, "observed_at": third.isoformat()},
        {"account_id": account, "count": 700, "observed_at": fourth.isoformat()},
        {"account_id": "a/b", "count": 10, "observed_at": fifth.isoformat()},
        {"account_id": account, "count": 900},
        "not a report",
    ]
    # When the platform sends it
    response = api.post("/v1/record-counts", json={"reports": reports})
    # Then every report has its own result, in order
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [200, 400, 404, 200, 400, 400, 400]
    assert [result.get("account_id") for result in results[:5]] == [account, account, stranger, account, "a/b"]
    assert results[0]["peak"] == 300 and results[0]["raised"] is True
    assert results[3]["peak"] == 700 and results[3]["raised"] is True
    assert results[1]["error"]["code"] == "invalid_request"
    assert results[2]["error"]["code"] == "account_not_found"
    for bad in (results[1], results[2], results[4], results[5], results[6]):
        assert "peak" not in bad and bad["error"]["message"]
    # And only the good reports reached the month
    month = usage(api, account, first.strftime("%Y-%m"))
    assert month["peak"] == 700
    assert same_instant(month["peak_observed_at"], fourth)
    assert month["last_count"] == 700
