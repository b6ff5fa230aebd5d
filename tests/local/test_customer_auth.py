"""The customer API takes only tokens from `python -m local token`, as API Gateway's JWT authorizer would."""

from __future__ import annotations

import base64
import gzip
import json
import time
from pathlib import Path

import jwt
import moto.cognitoidp
import pytest
import requests

from local.client import SignedSession
from tests.stacks import RunningStack, run_cli

UNAUTHORIZED = {"message": "Unauthorized"}


@pytest.fixture
def token(local_stack: RunningStack, account: str) -> str:
    result = run_cli(local_stack, "token", account)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def statements(local_stack: RunningStack, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(f"{local_stack.config['url']}/v1/statements", headers=headers, timeout=30)


def test_a_customer_token_opens_the_customer_api(local_stack: RunningStack, token: str):
    response = statements(local_stack, f"Bearer {token}")
    assert response.status_code == 200, response.text
    assert response.json() == {"statements": []}


def test_the_token_carries_the_account_in_its_custom_claim(token: str, account: str):
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["custom:account_id"] == account


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer not-a-jwt"], ids=repr)
def test_no_token_or_a_malformed_one_is_unauthorized(local_stack: RunningStack, authorization):
    response = statements(local_stack, authorization)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_token_with_a_forged_claim_is_unauthorized(local_stack: RunningStack, token: str):
    # Given a customer who edits the account in their token to read someone else's statements
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["custom:account_id"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    # Then the signature no longer matches and the gateway refuses it
    response = statements(local_stack, f"Bearer {header}.{forged}.{signature}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_platform_credentials_do_not_open_the_customer_api(local_stack: RunningStack):
    response = SignedSession.from_config(local_stack.config).get("/v1/statements")
    assert response.status_code == 401


def resigned(token: str, **changes) -> str:
    """The token with changed claims, signed again with the key of the local (moto) user pool."""
    private_jwk = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    key = jwt.PyJWK(json.loads(gzip.decompress(private_jwk.read_bytes()))).key
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(token)["kid"]})


def test_an_expired_token_is_unauthorized(local_stack: RunningStack, token: str):
    # Given tokens signed by the user pool's own key: one still valid, one expired a minute ago
    still_valid = resigned(token, exp=int(time.time()) + 600)
    expired = resigned(token, exp=int(time.time()) - 60)
    # Then only the expired one is refused
    assert statements(local_stack, f"Bearer {still_valid}").status_code == 200
    response = statements(local_stack, f"Bearer {expired}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
