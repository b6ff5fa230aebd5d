"""洗い替え over the wire: counts reported through the signed platform API, flagged by the stream consumer.

The local stack runs UsageWatchFunction from the template's ``Type: DynamoDB``
event, reading moto's stream of the BillingTable, as Lambda would in AWS.
"""

from __future__ import annotations

import time

from local.client import SignedSession
from tests.local.support import month_of, new_account_id, profile, recent_times

STREAM_TIMEOUT_S = 30


def create(api: SignedSession, prefix: str) -> str:
    account_id = new_account_id(prefix)
    response = api.put(f"/v1/accounts/{account_id}", json=profile())
    assert response.status_code == 201, response.text
    return account_id


def report(api: SignedSession, account: str, counts: list[int], moments) -> None:
    for count, at in zip(counts, moments, strict=True):
        response = api.post(
            f"/v1/accounts/{account}/record-counts", json={"count": count, "observed_at": at.isoformat()}
        )
        assert response.status_code == 200, response.text


def churn_events(operator: SignedSession, month: str, accounts: set[str]) -> list[dict]:
    response = operator.get("/v1/churn-events", params={"month": month})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["month"] == month
    return [event for event in body["churn_events"] if event["account_id"] in accounts]


def test_a_drop_and_reregister_is_flagged_and_an_ordinary_dip_is_not(api: SignedSession, operator: SignedSession):
    # Given an account that only dips, then one that deletes everything and registers it again
    steady, churned = create(api, "dip"), create(api, "churn")
    moments = recent_times(3)
    month = month_of(moments[0])
    report(api, steady, [20_000, 17_000, 20_000], moments)
    report(api, churned, [20_000, 500, 19_800], moments)

    # When the stream consumer has caught up (it reads in order: the dip's readings came first)
    deadline = time.monotonic() + STREAM_TIMEOUT_S
    while not (listed := churn_events(operator, month, {steady, churned})) and time.monotonic() < deadline:
        time.sleep(0.5)

    # Then the month lists exactly the churned account's episode
    expected = {
        "dropped_at": moments[1].isoformat(),
        "from": 20_000,
        "to": 500,
        "recovered_at": moments[2].isoformat(),
        "back_to": 19_800,
    }
    assert listed == [{"account_id": churned, **expected}]
    # And its usage shows it; the dipping account's does not
    usage = api.get(f"/v1/accounts/{churned}/usage/{month}").json()
    assert usage["churn_events"] == [expected]
    assert usage["bracket"] == {"index": 2, "from": 10_001, "to": 20_000}
    assert api.get(f"/v1/accounts/{steady}/usage/{month}").json()["churn_events"] == []


def test_the_churn_events_month_is_required_and_checked(api: SignedSession, operator: SignedSession):
    assert operator.get("/v1/churn-events").status_code == 400
    response = operator.get("/v1/churn-events", params={"month": "2026-13"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_request")
    assert operator.get("/v1/churn-events", params={"month": "2026-11", "account": "x"}).status_code == 400
    # And the platform may not list them at all: it is an operator route
    assert api.get("/v1/churn-events", params={"month": "2026-11"}).status_code == 403
