"""local.iam_policy decides as IAM does (wildcards, explicit Deny over Allow, deny by default); the gateway uses it."""

from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.authorizers import Denied, IamAuthorizer, IamPrincipal, IncomingRequest
from local.iam_policy import Decision, Policy, PolicyError, matches

INVOKE = "execute-api:Invoke"
API = "arn:aws:execute-api:ap-northeast-1:123456789012:abc123defg"


def policy(*statements: dict) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(*resources: str, action: str = INVOKE) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": list(resources)}


def deny(*resources: str, action: str = INVOKE) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": list(resources)}


@pytest.mark.parametrize(
    ("glob", "value", "expected"),
    [
        ("a*c", "abbbc", True),
        ("a*c", "ac", True),
        ("a*c", "a/b:c", True),  # * spans / and :
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a?c", "abbc", False),
        ("abc", "abcd", False),  # the whole value, not a prefix
        ("a.c", "abc", False),  # only * and ? are wildcards
        ("a[b]c", "a[b]c", True),
        ("ABC", "abc", False),
    ],
)
def test_wildcards_match_the_whole_value(glob: str, value: str, expected: bool):
    assert matches(glob, value) is expected


def test_a_route_pattern_allows_any_id_and_any_stage():
    # Given a grant of POST /v1/change-requests/*/confirm on every stage
    grant = policy(allow(f"{API}/*/POST/v1/change-requests/*/confirm"))
    # Then any id on any stage is allowed, other verbs, paths and APIs are not
    assert grant.allows(INVOKE, f"{API}/$default/POST/v1/change-requests/cr-1/confirm")
    assert grant.allows(INVOKE, f"{API}/prod/POST/v1/change-requests/a%2Fb/confirm")
    assert not grant.allows(INVOKE, f"{API}/$default/POST/v1/change-requests/cr-1/approve")
    assert not grant.allows(INVOKE, f"{API}/$default/GET/v1/change-requests/cr-1/confirm")
    assert not grant.allows(INVOKE, f"{API}X/$default/POST/v1/change-requests/cr-1/confirm")


def test_an_explicit_deny_beats_any_allow():
    grant = policy(allow(f"{API}/*"), deny(f"{API}/*/POST/v1/change-requests/*/approve"))
    assert grant.decide(INVOKE, f"{API}/$default/POST/v1/change-requests/cr-1/approve") is Decision.EXPLICIT_DENY
    assert grant.decide(INVOKE, f"{API}/$default/POST/v1/change-requests/cr-1/confirm") is Decision.ALLOW


def test_nothing_that_applies_is_an_implicit_deny():
    assert (
        policy(allow(f"{API}/*/GET/v1/accounts/*")).decide(INVOKE, f"{API}/$default/PUT/v1/accounts/acme")
        is Decision.IMPLICIT_DENY
    )
    assert Policy().decide(INVOKE, f"{API}/$default/GET/v1/accounts/acme") is Decision.IMPLICIT_DENY


def test_actions_match_case_insensitively_and_by_wildcard_but_other_actions_do_not():
    resource = f"{API}/$default/GET/v1/accounts/acme"
    assert policy(allow(resource, action="EXECUTE-API:invoke")).allows(INVOKE, resource)
    assert policy(allow(resource, action="execute-api:*")).allows(INVOKE, resource)
    assert not policy(allow(resource, action="execute-api:ManageConnections")).allows(INVOKE, resource)


def test_not_resource_and_not_action_invert_the_match():
    everything_but_approve = policy(
        {"Effect": "Allow", "Action": INVOKE, "NotResource": f"{API}/*/POST/v1/change-requests/*/approve"}
    )
    assert everything_but_approve.allows(INVOKE, f"{API}/$default/GET/v1/accounts/acme")
    assert not everything_but_approve.allows(INVOKE, f"{API}/$default/POST/v1/change-requests/x/approve")
    not_invoke = policy({"Effect": "Allow", "NotAction": INVOKE, "Resource": "*"})
    assert not not_invoke.allows(INVOKE, f"{API}/$default/GET/v1/accounts/acme")


def test_statements_of_several_documents_add_up():
    both = Policy.parse(
        {"Statement": allow(f"{API}/*/GET/v1/accounts/*")},  # a single statement need not be a list
        {"Statement": [deny(f"{API}/*/GET/v1/accounts/blocked")]},
    )
    assert both.allows(INVOKE, f"{API}/$default/GET/v1/accounts/acme")
    assert not both.allows(INVOKE, f"{API}/$default/GET/v1/accounts/blocked")


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": INVOKE, "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Maybe", "Action": INVOKE, "Resource": "*"},
        {"Effect": "Allow", "Resource": "*"},
        {"Effect": "Allow", "Action": INVOKE, "Resource": "*", "NotResource": "*"},
        {"Effect": "Allow", "Action": INVOKE, "Resource": []},
        {"Effect": "Allow", "Action": INVOKE, "Resource": {"Fn::Sub": "unresolved"}},
    ],
    ids=["condition", "bad effect", "no action", "resource and not-resource", "no resources", "unresolved"],
)
def test_a_policy_the_evaluator_cannot_read_faithfully_is_refused_up_front(statement: dict):
    with pytest.raises(PolicyError):
        policy(statement)


# ---------------------------------------------------------------- the gateway's IAM authorizer


def signed_request(method: str, path: str, key: str, secret: str) -> IncomingRequest:
    request = AWSRequest(method=method, url=f"http://127.0.0.1:3000{path}", data=b"{}", headers={})
    SigV4Auth(Credentials(key, secret), "execute-api", "ap-northeast-1").add_auth(request)
    headers = [*request.headers.items(), ("Host", "127.0.0.1:3000")]
    return IncomingRequest(method, path, "", headers, b"{}")


@pytest.fixture
def authorizer() -> IamAuthorizer:
    everything_but_approve = policy(allow(f"{API}/*"), deny(f"{API}/*/POST/v1/change-requests/*/approve"))
    principals = [
        IamPrincipal("platform", "AKIAPLATFORM", "platform-secret", everything_but_approve),
        IamPrincipal("operator", "AKIAOPERATOR", "operator-secret", policy(allow(f"{API}/$default/*"))),
    ]
    return IamAuthorizer(principals, "ap-northeast-1", "123456789012").for_api("abc123defg")


def test_the_authorizer_names_the_principal_that_signed(authorizer: IamAuthorizer):
    context = authorizer.authorize(
        signed_request("POST", "/v1/change-requests/x/approve", "AKIAOPERATOR", "operator-secret")
    )
    assert context["iam"]["userArn"] == "arn:aws:iam::123456789012:user/operator"
    assert context["iam"]["accessKey"] == "AKIAOPERATOR"


def test_the_authorizer_holds_each_principal_to_its_own_policy(authorizer: IamAuthorizer):
    request = signed_request("POST", "/v1/change-requests/x/approve", "AKIAPLATFORM", "platform-secret")
    assert authorizer.route_arn(request) == f"{API}/$default/POST/v1/change-requests/x/approve"
    with pytest.raises(Denied) as denied:
        authorizer.authorize(request)
    assert (denied.value.status, denied.value.message) == (403, "Forbidden")
    assert "explicit_deny" in denied.value.reason
    assert authorizer.authorize(signed_request("GET", "/v1/accounts/acme", "AKIAPLATFORM", "platform-secret"))


def test_a_known_key_with_the_other_principals_secret_is_forbidden(authorizer: IamAuthorizer):
    with pytest.raises(Denied) as denied:
        authorizer.authorize(signed_request("GET", "/v1/accounts/acme", "AKIAOPERATOR", "platform-secret"))
    assert denied.value.status == 403
