"""Least privilege, checked: the rules every function's IAM policy must keep.

``tests/unit/test_least_privilege.py`` applies them to the policies as
template.yaml writes them. ``python -m tools.least_privilege`` (run by
``make build-check`` in the tools environment, which has aws-sam-translator)
applies them to the roles SAM actually makes, which adds the managed policies
SAM attaches on its own; those are listed in ``MANAGED_POLICIES`` with the
reason each is accepted.

The rules:

- no ``*`` in an action, and no ``*`` resource unless AWS offers nothing
  narrower for the action (``ANY_RESOURCE``, each with its reason); a
  resource may end in ``/*`` only for the objects under one S3 key prefix;
- every item action on the BillingTable carries a ``dynamodb:LeadingKeys``
  condition (``ForAllValues:StringLike``) naming partition-key prefixes of
  ``billing.dal.keys``, so a function reaches only the item kinds it owns;
- a read-only function (``READ_ONLY``) has no write action at all.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = "AWS::Serverless::Function"
TABLE = "BillingTable"

# Functions that only read: checked against the code (their app.py docstrings say "Writes: nothing" in the table).
READ_ONLY = {
    "StatementsFunction": "a customer reads their own statements, PDFs, e-invoices and the month so far",
    "InvoiceDeskFunction": "operators search and read issued documents (電子帳簿保存法)",
    "CloseRunsFunction": "reads close progress; a retry only sends messages and tidies the dead-letter queue",
}

WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:BypassGovernanceRetention",
}

# Item-level DynamoDB actions: each must say which partitions (item kinds) it may touch.
ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
}

# Actions for which AWS has no resource narrower than "*", and why each is needed.
ANY_RESOURCE = {
    "xray:PutTraceSegments": "X-Ray has no resource types: tracing (Tracing: Active) needs Resource *",
    "xray:PutTelemetryRecords": "X-Ray has no resource types: tracing (Tracing: Active) needs Resource *",
    "xray:GetSamplingRules": "X-Ray sampling rules are read account-wide by the SDK",
    "xray:GetSamplingTargets": "X-Ray sampling targets are read account-wide by the SDK",
    "xray:GetSamplingStatisticSummaries": "part of AWSXrayWriteOnlyAccess; X-Ray has no resource types",
}

# AWS-managed policies that SAM attaches to a function role on its own, and why each is accepted.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "SAM attaches it to every function it makes a role for: CloudWatch Logs writes (logs:CreateLogGroup, "
        "CreateLogStream, PutLogEvents on Resource *); each function logs to its own LoggingConfig.LogGroup"
    ),
    "AWSXrayWriteOnlyAccess": "Tracing: Active; X-Ray has no resource types, so AWS requires Resource *",
    "AWSLambdaSQSQueueExecutionRole": (
        "SAM attaches it to SQS-triggered functions (Resource *); it only receives and deletes messages. "
        "Replacing it needs an explicit Role per function: not done yet"
    ),
    "AWSLambdaDynamoDBExecutionRole": (
        "SAM attaches it to stream-triggered functions (Resource *); it only reads streams. The function's own "
        "statement names the BillingTable stream. Replacing it needs an explicit Role: not done yet"
    ),
}

_S3_PREFIX = re.compile(r"^\$\{\w+\.Arn\}/[\w-]+(/[\w-]+)*/\*$")  # the objects under one key prefix of one bucket


def key_prefixes() -> set[str]:
    """Every partition-key prefix of the BillingTable, from ``billing.dal.keys`` itself, and its one-item
    partitions whole (``CLOSES``, ``CUSTOMERS``: a pattern names them exactly)."""
    from billing.dal import keys

    made = [
        keys.account_pk("x"),
        keys.month_pk("x"),
        keys.letters_pk("x"),
        keys.print_pk("x"),
        keys.churn_pk("x"),
        keys.change_request_pk("x"),
        keys.idempotency_key("x")["pk"]["S"],
        keys.debit_run_pk("x"),
        keys.payment_key("x")["pk"]["S"],
        keys.customer_pk("x"),
        keys.bank_file_pk("x"),
        keys.credits_pk("x"),
        keys.credit_ref_pk("x"),
        keys.payer_pk("x"),
    ]
    whole = {keys.LATEST_CLOSE["pk"]["S"], keys.CUSTOMER_COUNTER["pk"]["S"]}
    return {pk[: pk.index("#") + 1] for pk in made} | whole


def _list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _text(resource: object) -> str:
    """A resource as a reader sees it: a string, ``${X.Arn}`` for a GetAtt, the text of a Sub."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        return "${" + ".".join(target if isinstance(target, list) else [target]) + "}"
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    if isinstance(resource, dict) and "Ref" in resource:
        return "${" + resource["Ref"] + "}"
    return json.dumps(resource)


def statement_problems(function: str, statement: dict, prefixes: set[str]) -> list[str]:
    """What is wrong with one statement of ``function``'s policy (nothing, for a good one)."""
    if statement.get("Effect") != "Allow":
        return []
    if "NotAction" in statement or "NotResource" in statement:
        return [f"{function}: NotAction/NotResource grants everything else"]
    actions = [str(action) for action in _list(statement.get("Action", []))]
    resources = [_text(resource) for resource in _list(statement.get("Resource", []))]
    problems = [f"{function}: wildcard action {action}" for action in actions if "*" in action]
    for resource in resources:
        if resource == "*":
            unexplained = [action for action in actions if action not in ANY_RESOURCE]
            if unexplained:
                problems.append(f"{function}: Resource * for {', '.join(unexplained)}")
        elif "*" in resource and not _S3_PREFIX.match(resource):
            problems.append(f"{function}: wildcard resource {resource}")
    if function in READ_ONLY:
        problems += [f"{function} is read-only but may {action}" for action in actions if action in WRITE_ACTIONS]
    on_table = f"${{{TABLE}.Arn}}" in resources
    item_actions = [action for action in actions if action in ITEM_ACTIONS]
    if on_table and item_actions:
        problems += _leading_keys_problems(function, item_actions, statement.get("Condition") or {}, prefixes)
    return problems


def _leading_keys_problems(function: str, actions: list[str], condition: dict, prefixes: set[str]) -> list[str]:
    where = f"{function}: {', '.join(actions)} on {TABLE}"
    patterns = (condition.get("ForAllValues:StringLike") or {}).get("dynamodb:LeadingKeys")
    if patterns is None:
        return [f"{where} has no ForAllValues:StringLike dynamodb:LeadingKeys condition"]
    problems = []
    for pattern in _list(patterns):
        if not (pattern in prefixes or (pattern.endswith("*") and pattern[:-1] in prefixes)):
            problems.append(f"{where}: LeadingKeys {pattern!r} is not one of {sorted(p + '*' for p in prefixes)}")
    return problems


def template_statements(template: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """Each function's policy statements as template.yaml writes them, and the policies that are not written out."""
    statements: dict[str, list[dict]] = {}
    not_inline = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != FUNCTION:
            continue
        statements[logical_id] = []
        for policy in (resource.get("Properties") or {}).get("Policies") or []:
            if isinstance(policy, dict) and set(policy) == {"Statement"}:
                statements[logical_id] += _list(policy["Statement"])
            else:
                name = policy if isinstance(policy, str) else next(iter(policy))
                not_inline.append(f"{logical_id}: {name} (write its statements out)")
    return statements, not_inline


def check_template(template: dict) -> list[str]:
    prefixes = key_prefixes()
    statements, problems = template_statements(template)
    for function, found in statements.items():
        for statement in found:
            problems += statement_problems(function, statement, prefixes)
    return problems


# ------------------------------------------------------------------ the roles SAM makes (tools environment)


def _sam_roles() -> dict[str, dict]:
    """template.yaml through aws-sam-translator: each function's generated role."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))
    functions = [logical_id for logical_id, r in template["Resources"].items() if r["Type"] == FUNCTION]
    for resource in template["Resources"].values():  # the translator wants S3 locations, not folders
        for uri in ("CodeUri", "ContentUri"):
            if uri in (resource.get("Properties") or {}):
                resource["Properties"][uri] = "s3://bucket/key"

    class NoManagedPolicyLookup:
        def load(self) -> dict:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
    transformed = transform(template, {}, NoManagedPolicyLookup())
    return {f: transformed["Resources"][f"{f}Role"]["Properties"] for f in functions}


def check_sam_roles() -> list[str]:
    """The rules on the roles SAM makes, managed policies included."""
    sys.path.insert(0, str(ROOT / "layers" / "domain"))
    prefixes = key_prefixes()
    problems = []
    for function, role in _sam_roles().items():
        for arn in role.get("ManagedPolicyArns") or []:
            name = _text(arn).rsplit("/", 1)[-1]
            if name not in MANAGED_POLICIES:
                problems.append(f"{function}: managed policy {name} is not an accepted exception")
        for policy in role.get("Policies") or []:
            for statement in _list(policy["PolicyDocument"]["Statement"]):
                problems += statement_problems(function, statement, prefixes)
    return problems


def main() -> int:
    problems = check_sam_roles()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"least privilege: {len(problems)} problem(s) in the roles SAM makes from template.yaml")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
