"""Customer numbers (お客様番号) in the table: a counter, and one claim item per number.

``CUSTOMERS / COUNTER`` holds the last sequence given out; ``CUSTOMER#<number> / CUSTOMER`` names the account
a number belongs to (transfers are matched by it). A number is taken in the same transaction as whatever it
is given to: the counter moves on condition it still stands where it was read, and the claim is put on
condition the number is new. So a number is never given twice nor reused, and a lost race takes the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from billing.contracts.payment_details import customer_number
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item

COUNTER = keys.CUSTOMER_COUNTER
MAX_ATTEMPTS = 50


class CustomerNumbersBusy(RuntimeError):
    """Other accounts kept taking the next number first; the caller retries."""


@dataclass(frozen=True)
class NextNumber:
    sequence: int  # what the counter moves to
    seen: int | None  # the counter as it was read; None before the first number

    @property
    def number(self) -> str:
        return customer_number(self.sequence)


def claim_key(number: str) -> dict:
    return keys.key(keys.customer_pk(number), "CUSTOMER")


class CustomerNumbers:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def next_free(self) -> NextNumber:
        item = from_item(self.client.get_item(TableName=self.table, Key=COUNTER, ConsistentRead=True).get("Item"))
        seen = item.get("sequence")
        return NextNumber((seen or 0) + 1, seen)

    def claim(self, next_number: NextNumber, account_id: str) -> list[dict]:
        """The writes (for a transaction) that take ``next_number`` for ``account_id``."""
        moved = "attribute_not_exists(#sequence)" if next_number.seen is None else "#sequence = :seen"
        values = {":next": next_number.sequence} | ({} if next_number.seen is None else {":seen": next_number.seen})
        return [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": COUNTER,
                    "UpdateExpression": "SET #sequence = :next",
                    "ConditionExpression": moved,
                    "ExpressionAttributeNames": {"#sequence": "sequence"},
                    "ExpressionAttributeValues": to_item(values),
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({**from_item(claim_key(next_number.number)), "account_id": account_id}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def account_of(self, number: str) -> str | None:
        item = self.client.get_item(TableName=self.table, Key=claim_key(number)).get("Item")
        return from_item(item).get("account_id") if item else None

    def assign(self, account_id: str) -> str | None:
        """Give an account created before customer numbers its number, once (the migration); ``None`` when the
        account does not exist. Run again, it finds the number already there and changes nothing."""
        profile_key = keys.key(keys.account_pk(account_id), keys.PROFILE)
        for _ in range(MAX_ATTEMPTS):
            profile = from_item(
                self.client.get_item(TableName=self.table, Key=profile_key, ConsistentRead=True).get("Item")
            )
            if not profile:
                return None
            if profile.get("customer_number"):
                return profile["customer_number"]
            next_number = self.next_free()
            give = {
                "Update": {
                    "TableName": self.table,
                    "Key": profile_key,
                    "UpdateExpression": "SET customer_number = :number",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(customer_number)",
                    "ExpressionAttributeValues": to_item({":number": next_number.number}),
                }
            }
            try:
                self.client.transact_write_items(TransactItems=[give, *self.claim(next_number, account_id)])
            except ClientError as error:
                if error.response["Error"]["Code"] not in (
                    "TransactionCanceledException",
                    "TransactionConflictException",
                ):
                    raise
                continue  # the number was taken, or the account got one meanwhile: look again
            return next_number.number
        raise CustomerNumbersBusy(f"{account_id}: no customer number after {MAX_ATTEMPTS} tries")
