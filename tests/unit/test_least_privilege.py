"""Least privilege, checked on template.yaml: no wildcards, item kinds by key prefix, read-only stays read-only.

The rules live in ``tools.least_privilege``; ``make build-check`` applies the
same rules to the roles SAM makes (managed policies included).
"""

from __future__ import annotations

import pytest

from tests.conftest import load_template
from tools.least_privilege import (
    ANY_RESOURCE,
    READ_ONLY,
    check_template,
    key_prefixes,
    statement_problems,
    template_statements,
)

TABLE_ARN = {"Fn::GetAtt": ["BillingTable", "Arn"]}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_every_function_policy_keeps_the_rules(template):
    assert check_template(template) == []


def test_every_policy_is_written_out_so_the_check_sees_what_is_granted(template):
    # SAM policy templates (DynamoDBCrudPolicy, SQSSendMessagePolicy...) expand to actions this check cannot see
    _, not_inline = template_statements(template)
    assert not_inline == []


def test_the_read_only_functions_exist_and_read(template):
    statements, _ = template_statements(template)
    assert set(READ_ONLY) <= set(statements)
    for function in READ_ONLY:
        actions = set().union(
            *({s["Action"]} if isinstance(s["Action"], str) else set(s["Action"]) for s in statements[function])
        )
        assert actions & {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"}, function


def test_the_key_prefixes_come_from_the_table_layout():
    expected = {"ACCOUNT#", "MONTH#", "LETTERS#", "PRINT#", "CHURN#", "CHANGE#", "REQUEST#", "DEBITRUN#", "PAYMENT#"}
    expected |= {"CUSTOMER#", "BANKFILE#", "CREDITS#", "CREDITREF#", "PAYER#"}
    assert key_prefixes() == expected | {"CLOSES", "CUSTOMERS"}


# The rules themselves: each catches what it is for.

PREFIXES = {"ACCOUNT#", "MONTH#"}


def allow(action, resource, condition=None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


def leading(*patterns) -> dict:
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(patterns)}}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (allow("dynamodb:*", TABLE_ARN, leading("ACCOUNT#*")), "wildcard action dynamodb:*"),
        (allow("sqs:SendMessage*", {"Fn::GetAtt": ["Q", "Arn"]}), "wildcard action sqs:SendMessage*"),
        (allow("s3:GetObject", "*"), "Resource * for s3:GetObject"),
        (allow("s3:GetObject", {"Fn::Sub": "${InvoiceBucket.Arn}*"}), "wildcard resource"),
        (allow("dynamodb:GetItem", TABLE_ARN), "no ForAllValues:StringLike dynamodb:LeadingKeys"),
        (allow("dynamodb:GetItem", TABLE_ARN, leading("*")), "LeadingKeys '*'"),
        (allow("dynamodb:GetItem", TABLE_ARN, leading("INVOICE#*")), "LeadingKeys 'INVOICE#*'"),
        (
            allow("dynamodb:GetItem", TABLE_ARN, {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["ACCOUNT#*"]}}),
            "no ForAllValues:StringLike",
        ),
        (allow("dynamodb:PutItem", TABLE_ARN, leading("ACCOUNT#*")), "read-only but may dynamodb:PutItem"),
        (allow("s3:PutObject", {"Fn::Sub": "${InvoiceBucket.Arn}/invoices/*"}), "read-only but may s3:PutObject"),
    ],
)
def test_a_broad_or_writing_grant_is_caught(statement, expected):
    problems = statement_problems("StatementsFunction", statement, PREFIXES)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "statement",
    [
        allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE_ARN, leading("ACCOUNT#*", "MONTH#*")),
        allow("s3:GetObject", {"Fn::Sub": "${InvoiceBucket.Arn}/invoices/*"}),
        allow("dynamodb:Query", {"Fn::Sub": "${BillingTable.Arn}/index/DocumentsByNumber"}),
        allow("xray:PutTraceSegments", "*"),
    ],
)
def test_a_narrow_grant_passes(statement):
    assert statement_problems("IssueInvoiceFunction", statement, PREFIXES) == []


def test_every_resource_star_exception_says_why():
    assert all(len(reason) > 20 for reason in ANY_RESOURCE.values())
