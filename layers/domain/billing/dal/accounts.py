"""Billing profiles in the BillingTable."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.accounts import AccountProfile
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.errors import AccountNotFound

_FIELDS = (
    "plan",
    "options",
    "payment_method",
    "delivery_method",
    "contract_start",
    "contract_end",
    "billing_contact",
)


class AccountStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def put(self, profile: AccountProfile) -> bool:
        """Create or replace the profile; True when it was created.

        An update, not a put: the item also carries the month gate
        (``closed_through``, ``last#…``) that a profile change must keep.
        """
        body = profile.as_json()
        fields = [name for name in _FIELDS if name in body]
        fields += ["account_id", "account_shard"]  # the AccountsByShard index lists every account
        body["account_shard"] = keys.account_shard(profile.account_id)
        names = {f"#{name}": name for name in (*_FIELDS, "account_id", "account_shard", "created_at", "updated_at")}
        values = {f":{name}": body[name] for name in fields}
        values[":now"] = datetime.now(UTC).isoformat()
        assignments = [f"#{name} = :{name}" for name in fields]
        assignments += ["#created_at = if_not_exists(#created_at, :now)", "#updated_at = :now"]
        expression = "SET " + ", ".join(assignments) + ("" if "contract_end" in body else " REMOVE #contract_end")
        response = self.client.update_item(
            TableName=self.table,
            Key=keys.key(keys.account_pk(profile.account_id), keys.PROFILE),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_OLD",
        )
        return not response.get("Attributes")

    def get(self, account_id: str) -> AccountProfile:
        item = self.get_item(account_id)
        return AccountProfile.from_json(account_id, item)

    def page(self, shard: str, cursor: dict | None = None, limit: int = 500) -> tuple[list[dict], dict | None]:
        """One page of a shard's accounts (id and contract dates) and the cursor to the next."""
        extra = {"ExclusiveStartKey": cursor} if cursor else {}
        response = self.client.query(
            TableName=self.table,
            IndexName=keys.ACCOUNTS_INDEX,
            KeyConditionExpression="account_shard = :shard",
            ExpressionAttributeValues=to_item({":shard": shard}),
            Limit=limit,
            **extra,
        )
        return [from_item(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")

    def end_contract(self, account_id: str, last_day: str) -> None:
        """Record the contract's last billed day: counts after it are refused, months after it are not billed."""
        self.client.update_item(
            TableName=self.table,
            Key=keys.key(keys.account_pk(account_id), keys.PROFILE),
            UpdateExpression="SET contract_end = :end",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":end": last_day}),
        )

    def get_item(self, account_id: str) -> dict:
        response = self.client.get_item(
            TableName=self.table,
            Key=keys.key(keys.account_pk(account_id), keys.PROFILE),
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise AccountNotFound(account_id)
        return from_item(response["Item"])
