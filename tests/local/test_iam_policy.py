"""local.iam_policy decides as IAM does: wildcards, an explicit Deny over any Allow, and deny by default."""

from __future__ import annotations

import pytest

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
