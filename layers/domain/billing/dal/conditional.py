"""Conditional writes, the one way this project keeps DynamoDB consistent.

Each helper answers whether the write went through instead of raising when
its condition (or a transaction's) refused it: a refusal is an expected
outcome here (a maximum that did not improve, a step already done by an
earlier run), never an error.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from billing.dal.clients import from_item, to_item

REFUSED = ("ConditionalCheckFailedException",)
TRANSACTION_REFUSED = ("TransactionCanceledException", "TransactionConflictException")


def update_if(
    client,
    table: str,
    key: dict,
    update: str,
    condition: str,
    values: dict,
    names: dict | None = None,
    returns: str = "NONE",
) -> tuple[bool, dict]:
    """(applied, the item after the update or, when refused, as it stood)."""
    extra = {"ExpressionAttributeNames": names} if names else {}
    try:
        response = client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=to_item(values),
            ReturnValues=returns,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **extra,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] not in REFUSED:
            raise
        return False, from_item(error.response.get("Item"))
    return True, from_item(response.get("Attributes"))


def put_if_absent(client, table: str, item: dict) -> tuple[bool, dict]:
    """(stored, the item that stood there when it was not)."""
    try:
        client.put_item(
            TableName=table,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] not in REFUSED:
            raise
        return False, from_item(error.response.get("Item"))
    return True, {}


def transact_if(client, items: list[dict], retry_conflicts: bool = False) -> bool:
    """All of the transaction's writes, or none of them (False) when a condition refused it.

    A conflict with another transaction raises, so the caller's message is
    retried, unless the caller retries by itself (``retry_conflicts``).
    """
    refused = TRANSACTION_REFUSED if retry_conflicts else TRANSACTION_REFUSED[:1]
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as error:
        if error.response["Error"]["Code"] not in refused:
            raise
        return False
    return True


def cancellation_reasons(client, writes: list[dict]) -> list[str | None] | None:
    """None when the transaction went through; else each write's cancellation reason (a conflict with another
    transaction reads as a reason of its own, so the caller tries again)."""
    try:
        client.transact_write_items(TransactItems=writes)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "TransactionConflictException":
            return ["TransactionConflict"] * len(writes)
        if code != "TransactionCanceledException":
            raise
        reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons") or []]
        return reasons + [None] * (len(writes) - len(reasons))
    return None
