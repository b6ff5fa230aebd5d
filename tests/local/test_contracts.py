"""Contracts over HTTP, as the platform and billing operations would use them on the local stack."""

from __future__ import annotations

from local.client import SignedSession
from local.mailbox import confirmation_token
from tests.local.support import new_account_id, profile
from tests.stacks import RunningStack


def create(api: SignedSession, **fields) -> str:
    account = new_account_id("terms")
    response = api.put(f"/v1/accounts/{account}", json=profile(**fields))
    assert response.status_code == 201, response.text
    return account


def test_a_put_retry_is_200_and_a_put_change_is_409(api: SignedSession):
    account = create(api)
    assert api.put(f"/v1/accounts/{account}", json=profile()).status_code == 200
    response = api.put(f"/v1/accounts/{account}", json=profile(plan="premium"))
    assert (response.status_code, response.json()["error"]["code"]) == (409, "change_request_required")
    assert api.get(f"/v1/accounts/{account}").json()["plan"] == "standard"


def test_a_plan_change_confirmed_from_the_email_waits_for_its_month(api: SignedSession, local_stack: RunningStack):
    # Given an account on standard, and a plan change for 2027-02 requested over the platform API
    account = create(api)
    body = {"changes": {"plan": "premium", "options": ["bridge", "dedicated_ip"]}, "effective_month": "2027-02"}
    requested = api.post(f"/v1/accounts/{account}/change-requests", json=body)
    assert requested.status_code == 201, requested.text
    change_id = requested.json()["change_request_id"]
    # When the billing contact confirms it with the token from the email
    token = confirmation_token(local_stack.config["endpoint"], change_id)
    confirmed = api.post(f"/v1/change-requests/{change_id}/confirm", json={"token": token})
    assert (confirmed.status_code, confirmed.json()["effective_month"]) == (200, "2027-02")
    # Then January keeps standard, February on is premium, and January lists it as scheduled
    january = api.get(f"/v1/accounts/{account}", params={"month": "2027-01"}).json()
    february = api.get(f"/v1/accounts/{account}", params={"month": "2027-02"}).json()
    assert (january["plan"], february["plan"], february["options"]) == (
        "standard",
        "premium",
        ["bridge", "dedicated_ip"],
    )
    assert january["scheduled_changes"] == [{"effective_month": "2027-02", "changes": body["changes"]}]


def test_cancellation_is_for_operators_and_follows_the_rules(api: SignedSession, operator: SignedSession):
    account = create(api, contract_start="2026-01-01")
    path = f"/v1/accounts/{account}/cancellation"
    # The platform is refused by the gateway: the route is not in its policy
    assert api.post(path, json={"received_on": "2026-11-20"}).status_code == 403
    assert api.delete(path).status_code == 403
    # An end inside the month received is too early; the answer names the earliest month
    early = operator.post(path, json={"received_on": "2026-11-20", "end_month": "2026-11"})
    assert (early.status_code, early.json()["error"]["code"]) == (409, "cancellation_too_early")
    assert "2026-12" in early.json()["error"]["message"]
    # On time it is recorded, the same again is 200, a different one 409
    recorded = operator.post(path, json={"received_on": "2026-11-20"})
    assert (recorded.status_code, recorded.json()["contract_end"]) == (201, "2026-12-31")
    assert operator.post(path, json={"received_on": "2026-11-20", "end_month": "2026-12"}).status_code == 200
    other = operator.post(path, json={"received_on": "2026-11-20", "end_month": "2027-03"})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "already_cancelled")
    assert api.get(f"/v1/accounts/{account}").json()["contract_end"] == "2026-12-31"
    # Withdrawn while December is open, the contract goes on
    assert operator.delete(path).status_code == 200
    assert "contract_end" not in api.get(f"/v1/accounts/{account}").json()
