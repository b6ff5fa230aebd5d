"""Who may call what: the platform and the operator are different principals, each held to its own policy.

The policies are template.yaml's own (PlatformCallerPolicy, OperatorPolicy);
the local gateway holds each signed request to its signer's policy, so a
route the policy does not grant is 403 however well the request is signed.
"""

from __future__ import annotations

import pytest

from local.client import SignedSession
from local.iam_policy import Policy
from local.resources import plan
from local.stack import DEFAULT_TEMPLATE, PRINCIPAL_POLICIES
from local.template import Pseudo, Resolver, Template
from tests.stacks import RunningStack

FORBIDDEN = {"message": "Forbidden"}
UNKNOWN_CHANGE = "0123456789abcdef0123456789abcdef"
# The operator's routes that the platform must never be granted (the contract's operator API),
# including those not in the template yet: granting one to the platform later fails here.
OPERATOR_ONLY = {
    "POST /v1/change-requests/{change_request_id}/approve",
    "POST /v1/accounts/{account_id}/cancellation",
    "DELETE /v1/accounts/{account_id}/cancellation",
    "GET /v1/invoices",
    "GET /v1/invoices/{invoice_number}",
    "POST /v1/invoices/{invoice_number}/corrections",
    "POST /v1/invoices/{invoice_number}/credit-notes",
    "GET /v1/close-runs/{month}",
    "POST /v1/close-runs/{month}/retry",
    "GET /v1/churn-events",
    "POST /v1/debit-runs",
    "GET /v1/debit-runs/{debit_date}",
    "POST /v1/debit-runs/{debit_date}/results",
    "POST /v1/bank-statements",
    "GET /v1/payments",
    "POST /v1/payments/{payment_id}/allocation",
    "DELETE /v1/payments/{payment_id}/allocation",
    "GET /v1/receivables",
}
INVOKE = "execute-api:Invoke"


# ---------------------------------------------------------------- the template's policies


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(DEFAULT_TEMPLATE)


@pytest.fixture(scope="module")
def resolver(template: Template) -> Resolver:
    pseudo = Pseudo("ap-northeast-1", "123456789012", "roles-test")
    return Resolver(template, pseudo, plan(template, pseudo, "http://127.0.0.1:1"))


def policy_of(template: Template, resolver: Resolver, logical_id: str) -> Policy:
    resource = template.resources[logical_id]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    return Policy.parse(resolver.resolve(resource["Properties"]["PolicyDocument"]), name=logical_id)


def arn(resolver: Resolver, route_key: str) -> str:
    """The execute-api ARN of a request to the route, with a sample value for each path parameter."""
    method, path = route_key.split(" ", 1)
    sample = "/".join("sample-1" if part.startswith("{") else part for part in path.strip("/").split("/"))
    api_id = resolver.physical["PlatformApi"].ref
    return f"arn:aws:execute-api:ap-northeast-1:123456789012:{api_id}/$default/{method}/{sample}"


def platform_api_routes(template: Template) -> set[str]:
    return {route.route_key for route in template.routes() if route.api == "PlatformApi"}


def test_each_iam_principal_has_a_managed_policy_exported_by_the_stack(template: Template):
    outputs = template.body["Outputs"]
    for policy in PRINCIPAL_POLICIES.values():
        assert template.resources[policy]["Type"] == "AWS::IAM::ManagedPolicy"
        [output] = [value for value in outputs.values() if value["Value"] == {"Ref": policy}]
        assert output["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{policy}Arn"}


def test_the_operator_is_granted_every_platform_api_route(template: Template, resolver: Resolver):
    operator = policy_of(template, resolver, "OperatorPolicy")
    refused = [key for key in sorted(platform_api_routes(template)) if not operator.allows(INVOKE, arn(resolver, key))]
    assert not refused


@pytest.mark.parametrize(
    "route_key",
    [
        "POST /v1/accounts/{account_id}/cancellation",
        "DELETE /v1/accounts/{account_id}/cancellation",
        "GET /v1/churn-events",
    ],
)
def test_the_operator_is_granted_the_cancellation_and_churn_routes(template: Template, resolver: Resolver, route_key):
    assert policy_of(template, resolver, "OperatorPolicy").allows(INVOKE, arn(resolver, route_key))


def test_the_platform_is_granted_exactly_the_platform_api_routes_that_are_not_the_operators(
    template: Template, resolver: Resolver
):
    platform = policy_of(template, resolver, "PlatformCallerPolicy")
    candidates = platform_api_routes(template) | OPERATOR_ONLY
    granted = {key for key in candidates if platform.allows(INVOKE, arn(resolver, key))}
    assert granted == platform_api_routes(template) - OPERATOR_ONLY


# ---------------------------------------------------------------- the local gateway holds callers to them


def test_the_first_line_names_both_principals_and_they_differ(local_stack: RunningStack):
    config = local_stack.config
    assert config["operator_access_key_id"] and config["operator_secret_access_key"]
    assert config["operator_access_key_id"] != config["aws_access_key_id"]
    assert config["operator_secret_access_key"] != config["aws_secret_access_key"]


def test_the_platform_cannot_approve_a_change(api: SignedSession):
    response = api.post(f"/v1/change-requests/{UNKNOWN_CHANGE}/approve", json={"approved_by": "山田"})
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_an_operator_approval_reaches_the_function(operator: SignedSession):
    response = operator.post(f"/v1/change-requests/{UNKNOWN_CHANGE}/approve", json={"approved_by": "佐藤 運用担当"})
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "change_request_not_found"


def test_an_operator_signature_with_a_wrong_secret_is_forbidden(local_stack: RunningStack):
    config = local_stack.config
    forged = SignedSession(config["url"], config["operator_access_key_id"], "not-the-secret", config["region"])
    response = forged.post(f"/v1/change-requests/{UNKNOWN_CHANGE}/approve", json={"approved_by": "佐藤"})
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_a_legal_name_change_waits_for_the_operator_not_the_platform(
    api: SignedSession, operator: SignedSession, account: str
):
    # Given the platform asked to change the company name, which needs an operator
    changes = {"billing_contact": {"company_name": "株式会社新商号"}}
    response = api.post(f"/v1/accounts/{account}/change-requests", json={"changes": changes})
    assert response.status_code == 201, response.text
    change = response.json()["change_request_id"]
    # When the platform tries to approve it / Then it is forbidden and the name stays
    assert api.post(f"/v1/change-requests/{change}/approve", json={"approved_by": "山田"}).status_code == 403
    assert api.get(f"/v1/accounts/{account}").json()["billing_contact"]["company_name"] == "株式会社サンプル商事"
    # When the operator approves it / Then it is applied, and the platform sees the new name
    response = operator.post(f"/v1/change-requests/{change}/approve", json={"approved_by": "佐藤 運用担当"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["approved_by"]) == ("applied", "佐藤 運用担当")
    assert api.get(f"/v1/accounts/{account}").json()["billing_contact"]["company_name"] == "株式会社新商号"


def test_the_operator_may_call_the_platform_routes_and_the_platform_still_may(
    api: SignedSession, operator: SignedSession, account: str
):
    assert api.get(f"/v1/accounts/{account}").status_code == 200
    assert operator.get(f"/v1/accounts/{account}").status_code == 200
    month = "2026-04"
    assert api.get(f"/v1/accounts/{account}/usage/{month}").status_code == 200
    assert operator.get(f"/v1/accounts/{account}/usage/{month}").status_code == 200
