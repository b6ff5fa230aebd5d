"""Hostile bodies, paths and query strings: each gets a 4xx in the error shape and changes nothing.

Sent over HTTP to the local gateway, which hands bodies to functions the way
API Gateway does (a body that is not UTF-8 arrives base64-encoded).
"""

from __future__ import annotations

import json

import pytest

from local.client import SignedSession
from tests.local.support import new_account_id, profile, recent_times
from tests.local.test_platform_errors import assert_error


@pytest.fixture
def standing(api: SignedSession) -> dict:
    """An account with one count this month, and how its profile and month read before the attack."""
    account = new_account_id("hostile")
    assert api.put(f"/v1/accounts/{account}", json=profile()).status_code == 201
    (moment,) = recent_times(1)
    assert api.post(f"/v1/accounts/{account}/record-counts", json={"count": 500, "observed_at": moment.isoformat()}).ok
    month = moment.strftime("%Y-%m")
    return {"account": account, "month": month, "at": moment.isoformat(), "before": _snapshot(api, account, month)}


def _snapshot(api: SignedSession, account: str, month: str) -> tuple:
    return api.get(f"/v1/accounts/{account}").json(), api.get(f"/v1/accounts/{account}/usage/{month}").json()


def _bodies(at: str) -> dict[str, bytes]:
    report = json.dumps({"count": 7, "observed_at": at})
    return {
        "invalid UTF-8": b"\xff\xfe\x00",
        "UTF-8 then a stray byte": report.encode()[:-1] + b"\x80}",
        "NaN": f'{{"count": NaN, "observed_at": "{at}"}}'.encode(),
        "Infinity": f'{{"count": Infinity, "observed_at": "{at}"}}'.encode(),
        "-Infinity": f'{{"count": -Infinity, "observed_at": "{at}"}}'.encode(),
        "a key given twice": f'{{"count": -1, "count": 5000000, "observed_at": "{at}"}}'.encode(),
        "nested 50,000 deep": b"[" * 50_000 + b"]" * 50_000,
        "objects nested 50,000 deep": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "a lone surrogate": f'{{"count": 7, "observed_at": "{at}\\ud800"}}'.encode(),
        "a NUL in a string": f'{{"count": 7, "observed_at": "{at}\\u0000"}}'.encode(),
        "an array": f"[{report}]".encode(),
        "a bare number": b"7",
    }


BODY_CASES = list(_bodies("x"))


@pytest.mark.parametrize("case", BODY_CASES)
def test_a_hostile_count_body_is_refused_and_changes_nothing(api: SignedSession, standing: dict, case: str):
    account, month = standing["account"], standing["month"]
    body = _bodies(standing["at"])[case]
    response = api.post(
        f"/v1/accounts/{account}/record-counts", data=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")
    assert _snapshot(api, account, month) == standing["before"]


@pytest.mark.parametrize("case", ["invalid UTF-8", "a key given twice", "nested 50,000 deep", "a lone surrogate"])
@pytest.mark.parametrize(
    "route",
    ["PUT /v1/accounts/{account}", "POST /v1/accounts/{account}/change-requests", "POST /v1/record-counts"],
)
def test_every_body_route_refuses_what_json_loads_would_let_through(api, standing, case, route):
    method, path = route.split(" ")
    body = _bodies(standing["at"])[case]
    response = api.request(
        method, path.format(account=standing["account"]), data=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]


def test_a_body_over_the_gateways_payload_limit_is_413(api: SignedSession, standing: dict):
    response = api.post(
        f"/v1/accounts/{standing['account']}/record-counts",
        data=b'{"count": 7, "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_refused(api: SignedSession, standing: dict, content_type: str):
    response = api.post(
        f"/v1/accounts/{standing['account']}/record-counts",
        data=f"count=7&observed_at={standing['at']}",
        headers={"Content-Type": content_type},
    )
    assert_error(response, 400, "invalid_request")
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]


@pytest.mark.parametrize("segment", ["%00", "acme%00", "..", "%2E%2E", "acme%0A", "%E3%82%A2", "a%5Cb"])
def test_a_hostile_account_id_in_the_path_is_refused(api: SignedSession, standing: dict, segment: str):
    response = api.put(f"/v1/accounts/{segment}", json=profile())
    assert 400 <= response.status_code < 500, response.text
    response = api.get(f"/v1/accounts/{segment}/usage/{standing['month']}")
    assert 400 <= response.status_code < 500, response.text
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]


def test_a_trailing_newline_does_not_reach_another_account(api: SignedSession, standing: dict):
    # Given acme exists; When the platform PUTs "acme\n", Then no route takes it and acme is as it was
    response = api.put(f"/v1/accounts/{standing['account']}%0A", json=profile(plan="premium"))
    assert response.status_code in (400, 404), response.text
    assert set(response.json()) == {"error"}
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]


@pytest.mark.parametrize(
    "path",
    ["/v1/accounts/{account}", "/v1/accounts/{account}/usage/{month}"],
)
def test_an_unknown_query_parameter_is_refused(api: SignedSession, standing: dict, path: str):
    response = api.get(path.format(**standing) + "?debug=1")
    assert_error(response, 400, "invalid_request")
    assert "debug" in response.json()["error"]["message"]


def test_fullwidth_digits_are_not_a_postal_code_or_a_month(api: SignedSession, standing: dict):
    body = profile()
    body["billing_contact"]["postal_code"] = "１００-０００５"
    assert_error(api.put(f"/v1/accounts/{new_account_id()}", json=body), 400, "invalid_request")
    assert_error(api.get(f"/v1/accounts/{standing['account']}/usage/２０２６-１１"), 400, "invalid_request")


@pytest.mark.parametrize("contract_start", ["20260401xx", "2026-04-01xx", "2026-W14-3", "2026-02-30", "２０２６-04-01"])
def test_a_date_with_junk_is_not_a_contract_start(api: SignedSession, contract_start: str):
    account = new_account_id()
    assert_error(
        api.put(f"/v1/accounts/{account}", json=profile(contract_start=contract_start)), 400, "invalid_request"
    )
    assert_error(api.get(f"/v1/accounts/{account}"), 404, "account_not_found")


@pytest.mark.parametrize("name", ["株式会社\u0000サンプル", "\ud800", "株式会社\nサンプル"])
def test_control_characters_and_lone_surrogates_are_not_text(api: SignedSession, name: str):
    body = profile()
    body["billing_contact"]["company_name"] = name
    account = new_account_id()
    raw = json.dumps(body)  # ensure_ascii: a lone surrogate travels as \\ud800, as a hostile client would send it
    response = api.put(f"/v1/accounts/{account}", data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_request")
    assert_error(api.get(f"/v1/accounts/{account}"), 404, "account_not_found")


@pytest.mark.parametrize(
    ("field", "limit"), [("company_name", 50), ("department", 40), ("person_name", 30), ("address", 80)]
)
def test_a_contact_field_longer_than_the_envelope_window_holds_is_refused(api: SignedSession, field: str, limit: int):
    # Given a profile whose contact field is one full-width character past what the PDF's window holds
    body = profile()
    body["billing_contact"][field] = "國" * (limit + 1)
    account = new_account_id("long")
    # Then the PUT answers 400 invalid_request, naming the field, and creates nothing
    response = api.put(f"/v1/accounts/{account}", json=body)
    assert_error(response, 400, "invalid_request")
    assert field in response.json()["error"]["message"]
    assert_error(api.get(f"/v1/accounts/{account}"), 404, "account_not_found")
    # while at the limit it is taken as written, and a change request past it is refused too
    body["billing_contact"][field] = "國" * limit
    assert api.put(f"/v1/accounts/{account}", json=body).status_code == 201
    changes = {"changes": {"billing_contact": {field: "國" * (limit + 1)}}}
    assert_error(api.post(f"/v1/accounts/{account}/change-requests", json=changes), 400, "invalid_request")
    assert api.get(f"/v1/accounts/{account}").json()["billing_contact"][field] == "國" * limit


def test_contract_end_is_not_a_put_field(api: SignedSession):
    account = new_account_id()
    response = api.put(f"/v1/accounts/{account}", json=profile(contract_end="2026-12-31"))
    assert_error(response, 400, "invalid_request")
    assert "contract_end" in response.json()["error"]["message"]


def test_a_count_from_before_the_contract_is_refused_and_never_an_opening_count(api: SignedSession):
    # Given an account whose contract starts in April 2026
    account = new_account_id("early")
    assert api.put(f"/v1/accounts/{account}", json=profile(contract_start="2026-04-01")).status_code == 201
    # When the platform reports 27,500,000 records observed in 2001 and in March 2026
    for observed_at in ("2001-01-15T10:00:00+09:00", "2026-03-31T23:59:59+09:00"):
        response = api.post(
            f"/v1/accounts/{account}/record-counts", json={"count": 27_500_000, "observed_at": observed_at}
        )
        # Then each answers 409 contract_not_started
        assert_error(response, 409, "contract_not_started")
    # And April opens at zero, while a count from April 1st is kept
    assert api.get(f"/v1/accounts/{account}/usage/2026-04").json()["opening_count"] == 0
    response = api.post(
        f"/v1/accounts/{account}/record-counts", json={"count": 5, "observed_at": "2026-04-01T00:00:00+09:00"}
    )
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------- issue 21's small findings, over HTTP


@pytest.mark.parametrize("content_type", [None, ""], ids=["no Content-Type", "an empty Content-Type"])
@pytest.mark.parametrize(
    "route",
    ["POST /v1/accounts/{account}/record-counts", "POST /v1/record-counts", "PUT /v1/accounts/{new}"],
)
def test_a_json_body_without_a_content_type_is_refused_and_changes_nothing(api, standing, route, content_type):
    # Given a well-formed body that says nothing of its media type
    method, path = route.split(" ")
    new = new_account_id("untyped")
    body = {
        "POST /v1/accounts/{account}/record-counts": {"count": 9_000, "observed_at": standing["at"]},
        "POST /v1/record-counts": {
            "reports": [{"account_id": standing["account"], "count": 9_000, "observed_at": standing["at"]}]
        },
        "PUT /v1/accounts/{new}": profile(),
    }[route]
    headers = {} if content_type is None else {"Content-Type": content_type}
    # When it is sent, Then it is refused as the README says, and nothing is counted or created
    response = api.request(
        method, path.format(account=standing["account"], new=new), data=json.dumps(body).encode(), headers=headers
    )
    assert_error(response, 400, "invalid_request")
    assert "application/json" in response.json()["error"]["message"]
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]
    assert_error(api.get(f"/v1/accounts/{new}"), 404, "account_not_found")


@pytest.mark.parametrize("email", ["a@例え.jp", "経理@example.co.jp"])
def test_an_email_address_that_is_not_ascii_is_refused_at_creation_and_in_a_change(api, standing, email):
    # Given an address SES cannot send to as written
    body = profile()
    body["billing_contact"]["email"] = email
    account = new_account_id("idn")
    # Then a new profile with it is refused, naming the IDNA form, and nothing is created
    response = api.put(f"/v1/accounts/{account}", json=body)
    assert_error(response, 400, "invalid_request")
    assert "xn--" in response.json()["error"]["message"]
    assert_error(api.get(f"/v1/accounts/{account}"), 404, "account_not_found")
    # and so is a change request to it
    changes = {"changes": {"billing_contact": {"email": email}}}
    assert_error(api.post(f"/v1/accounts/{standing['account']}/change-requests", json=changes), 400, "invalid_request")
    # while the same domain in its IDNA form is taken as written
    body["billing_contact"]["email"] = "a@xn--r8jz45g.jp"
    assert api.put(f"/v1/accounts/{account}", json=body).status_code == 201
    assert api.get(f"/v1/accounts/{account}").json()["billing_contact"]["email"] == "a@xn--r8jz45g.jp"


def test_a_change_from_before_the_contract_starts_is_refused(api: SignedSession, standing: dict):
    # Given an account whose contract starts in April 2026
    changes = {"changes": {"delivery_method": "web"}, "effective_month": "2026-03"}
    # When a change asks to take effect in March, Then it is 400 naming the start, and the terms are as they were
    response = api.post(f"/v1/accounts/{standing['account']}/change-requests", json=changes)
    assert_error(response, 400, "invalid_request")
    assert "2026-04" in response.json()["error"]["message"]
    assert _snapshot(api, standing["account"], standing["month"]) == standing["before"]
