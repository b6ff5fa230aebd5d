"""Schemathesis against the local stack: every documented operation, valid and invalid input.

Each operation gets generated requests (examples that fit the document and
ones that break it), signed as a caller allowed to make them: SigV4 with the
operator's key for the platform API (the operator may call every route there;
tests/local/test_roles.py checks who else may), a token from
``python -m local token`` for the customer API.
Every response must be documented: never a 5xx, a status the operation
declares, and a body that matches its schema. Hypothesis runs derandomized,
so CI sees the same requests every time.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.client import SignedSession
from tests.factories import profile_body
from tests.stacks import RunningStack, run_cli
from tools.openapi import DOCUMENT

schema = schemathesis.openapi.from_path(str(DOCUMENT))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def customer(local_stack: RunningStack) -> requests.Session:
    signed = SignedSession.from_config(local_stack.config)
    account = "fuzz-customer"
    assert signed.put(f"/v1/accounts/{account}", json=profile_body()).status_code in (200, 201)
    result = run_cli(local_stack, "token", account)
    assert result.returncode == 0, result.stderr
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {result.stdout.strip()}"
    return session


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_is_documented_and_none_is_a_5xx(case, local_stack: RunningStack, customer):
    security = case.operation.definition.raw["security"]
    base_url = local_stack.config["url"]
    if security == [{"sigv4": []}]:
        session = SignedSession.from_config(local_stack.config, principal="operator")
        response = case.call(session=session, base_url=base_url, allow_redirects=False)
    elif security:
        response = case.call(session=customer, base_url=base_url, allow_redirects=False, timeout=30)
    else:  # the change confirmation page: no sign-in, the token is in the request
        response = case.call(session=requests.Session(), base_url=base_url, allow_redirects=False, timeout=30)
    case.validate_response(response, checks=CHECKS)
