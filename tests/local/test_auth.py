"""The platform API takes only requests signed (SigV4, execute-api) with the printed credentials."""

from __future__ import annotations

import json

import pytest
import requests

from local.client import SignedSession, SigV4RequestAuth
from tests.local.support import recent_times
from tests.stacks import RunningStack

FORBIDDEN = {"message": "Forbidden"}


def usage(api: SignedSession, account: str, month: str) -> dict:
    response = api.get(f"/v1/accounts/{account}/usage/{month}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_signed_request_succeeds(api: SignedSession, account: str):
    response = api.get(f"/v1/accounts/{account}")
    assert response.status_code == 200
    assert response.json()["account_id"] == account


def test_an_unsigned_request_is_forbidden(local_stack: RunningStack, account: str):
    response = requests.get(f"{local_stack.config['url']}/v1/accounts/{account}", timeout=10)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.parametrize(
    ("key", "secret"),
    [("config", "wrong-secret"), ("AKIAUNKNOWNKEY000000", "config")],
    ids=["wrong secret", "unknown access key"],
)
def test_a_request_signed_with_other_credentials_is_forbidden(local_stack: RunningStack, account: str, key, secret):
    config = local_stack.config
    api = SignedSession(
        config["url"],
        config["aws_access_key_id"] if key == "config" else key,
        config["aws_secret_access_key"] if secret == "config" else secret,
        config["region"],
    )
    response = api.get(f"/v1/accounts/{account}")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_a_body_tampered_with_after_signing_is_forbidden_and_changes_nothing(
    local_stack: RunningStack, api: SignedSession, account: str
):
    # Given a report of 100 signed by the platform
    (moment,) = recent_times(1)
    month = moment.strftime("%Y-%m")
    before = usage(api, account, month)
    config = local_stack.config
    url = f"{config['url']}/v1/accounts/{account}/record-counts"
    signed_body = json.dumps({"count": 100, "observed_at": moment.isoformat()})
    request = requests.Request("POST", url, data=signed_body, headers={"Content-Type": "application/json"}).prepare()
    SigV4RequestAuth(config["aws_access_key_id"], config["aws_secret_access_key"], config["region"])(request)
    # When someone on the way raises the count before it arrives
    request.body = signed_body.replace("100", "999").encode()
    with requests.Session() as session:
        response = session.send(request, timeout=10)
    # Then the gateway refuses it and the month is untouched
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert usage(api, account, month) == before


def test_a_request_signed_for_another_service_is_forbidden(local_stack: RunningStack, account: str):
    config = local_stack.config
    auth = SigV4RequestAuth(config["aws_access_key_id"], config["aws_secret_access_key"], config["region"], "s3")
    response = requests.get(f"{config['url']}/v1/accounts/{account}", auth=auth, timeout=10)
    assert response.status_code == 403


def test_an_unknown_route_answers_like_api_gateway(api: SignedSession):
    for method, path in [("GET", "/v1/nothing"), ("DELETE", "/v1/accounts/acme"), ("GET", "/v1/accounts/a/b")]:
        response = api.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"message": "Not Found"}
