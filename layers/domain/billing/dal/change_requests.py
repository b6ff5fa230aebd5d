"""Contract change requests in the BillingTable, and applying them to a profile.

Applying is one TransactWriteItems of two conditional updates:

1. the request moves from pending to applied, on condition that it is still
   pending (and, for a token confirmation, still holds the same token hash);
2. the profile gets the changed fields, on condition that it has not changed
   since it was read (``updated_at``), so a concurrent PUT is never lost.

Both happen or neither: a crash cannot leave an applied request without its
profile change, nor a changed profile whose request can be applied again.
A request that is no longer pending cancels the transaction and is reported
as already applied; a profile that moved is read again and the changes laid
over it afresh.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from billing import months
from billing.accounts import AccountProfile
from billing.change_requests import APPLIED, ChangeRequest
from billing.dal import keys
from billing.dal.accounts import AccountStore
from billing.dal.clients import dynamodb, from_item, to_item
from billing.errors import AlreadyApplied, ChangeRequestNotFound

MAX_APPLY_ATTEMPTS = 5


class ProfileContention(RuntimeError):
    """The profile kept changing under the confirmation; the caller may retry."""


class ChangeRequestStore:
    def __init__(self, table: str, client=None, accounts: AccountStore | None = None):
        self.table = table
        self.client = client or dynamodb()
        self.accounts = accounts or AccountStore(table, self.client)

    def create(self, request: ChangeRequest) -> None:
        self.client.put_item(
            TableName=self.table,
            Item=to_item(self._item(request)),
            ConditionExpression="attribute_not_exists(pk)",  # ids are random; never overwrite one
        )

    def get(self, change_request_id: str) -> ChangeRequest:
        response = self.client.get_item(TableName=self.table, Key=self._key(change_request_id), ConsistentRead=True)
        if "Item" not in response:
            raise ChangeRequestNotFound(change_request_id)
        return ChangeRequest.from_record(from_item(response["Item"]))

    def apply(self, pending: ChangeRequest, applied: ChangeRequest) -> AccountProfile:
        """Move ``pending`` to ``applied`` and change the profile with it, exactly once; the new profile."""
        for _ in range(MAX_APPLY_ATTEMPTS):
            item = self.accounts.get_item(pending.account_id)  # AccountNotFound if it is gone
            profile = pending.changes.apply_to(AccountProfile.from_json(pending.account_id, item))
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Update": self._request_update(pending, applied)},
                        {"Update": self._profile_update(profile, item.get("updated_at"))},
                    ]
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or [{}, {}]
                if reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise AlreadyApplied(pending.change_request_id) from None
                if reasons[1].get("Code") == "ConditionalCheckFailed":
                    continue  # the profile changed since it was read: lay the changes over it again
                raise
            return profile
        raise ProfileContention(f"the profile of {pending.account_id} kept changing; try again")

    # ------------------------------------------------------------ internals
    def _request_update(self, pending: ChangeRequest, applied: ChangeRequest) -> dict:
        record = applied.as_record()
        values = {":applied": APPLIED, ":pending": pending.status, ":at": record["applied_at"]}
        assignments = ["#status = :applied", "applied_at = :at"]
        condition = "#status = :pending"
        if applied.approved_by:
            assignments.append("approved_by = :by")
            values[":by"] = applied.approved_by
        if pending.token_hash:
            condition += " AND token_hash = :hash"
            values[":hash"] = pending.token_hash
        return {
            "TableName": self.table,
            "Key": self._key(pending.change_request_id),
            "UpdateExpression": "SET " + ", ".join(assignments),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }

    def _profile_update(self, profile: AccountProfile, seen_updated_at: str | None) -> dict:
        body = profile.as_json()
        values = {
            ":contact": body["billing_contact"],
            ":payment": body["payment_method"],
            ":delivery": body["delivery_method"],
            ":now": months.iso_now(),
        }
        if seen_updated_at is None:
            unchanged = "attribute_not_exists(updated_at)"
        else:
            unchanged = "updated_at = :seen"
            values[":seen"] = seen_updated_at
        return {
            "TableName": self.table,
            "Key": keys.key(keys.account_pk(profile.account_id), keys.PROFILE),
            "UpdateExpression": "SET billing_contact = :contact, payment_method = :payment,"
            " delivery_method = :delivery, updated_at = :now",
            "ConditionExpression": f"attribute_exists(pk) AND {unchanged}",
            "ExpressionAttributeValues": to_item(values),
        }

    def _item(self, request: ChangeRequest) -> dict:
        record = {name: value for name, value in request.as_record().items() if value is not None}
        return {"pk": keys.change_request_pk(request.change_request_id), "sk": keys.CHANGE_REQUEST, **record}

    @staticmethod
    def _key(change_request_id: str) -> dict:
        return keys.key(keys.change_request_pk(change_request_id), keys.CHANGE_REQUEST)
