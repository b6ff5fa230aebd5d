"""Contract change requests in the BillingTable, and applying them to the account's terms.

Applying is one TransactWriteItems of two conditional updates:

1. the request moves from pending to applied, on condition that it is still
   pending (and, for a token confirmation, still holds the same token hash);
2. the change is appended to the account's terms history from its effective
   month, on condition that the month is still open for the account.

Both happen or neither: a crash cannot leave an applied request without its
change, nor a change whose request can be applied again. A request that is no
longer pending cancels the transaction and is reported as already applied; a
month that closed meanwhile makes the caller decide the month again (the
change then takes effect from the first open month).
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from billing.contracts.change_requests import APPLIED, ChangeRequest
from billing.contracts.terms import Contract, TermsChange
from billing.dal import keys
from billing.dal.accounts import AccountStore
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.payer_names import learn_payer_name
from billing.errors import AlreadyApplied, ChangeRequestNotFound

MAX_APPLY_ATTEMPTS = 5


class ProfileContention(RuntimeError):
    """The account's months kept closing under the confirmation; the caller may retry."""


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

    def apply(self, pending: ChangeRequest, decide: Callable[[Contract], ChangeRequest]) -> ChangeRequest:
        """Apply ``pending`` exactly once, as ``decide`` settles it against the contract as it stands."""
        for _ in range(MAX_APPLY_ATTEMPTS):
            applied = decide(self.accounts.get(pending.account_id))  # AccountNotFound if it is gone
            change = TermsChange(applied.effective_month, pending.changes, pending.change_request_id)
            writes = [
                {"Update": self._request_update(pending, applied)},
                {"Update": self.accounts.add_change(pending.account_id, change)},
            ]
            if pending.changes.payer_name_kana:  # transfers under the new name match the account from now on
                writes.append(learn_payer_name(self.table, pending.changes.payer_name_kana, pending.account_id))
            try:
                self.client.transact_write_items(TransactItems=writes)
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or [{}, {}]
                if reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise AlreadyApplied(pending.change_request_id) from None
                if reasons[1].get("Code") == "ConditionalCheckFailed":
                    continue  # the month closed since it was read: decide the month again
                raise
            return applied
        raise ProfileContention(f"the months of {pending.account_id} kept closing; try again")

    # ------------------------------------------------------------ internals
    def _request_update(self, pending: ChangeRequest, applied: ChangeRequest) -> dict:
        record = applied.as_record()
        values = {
            ":applied": APPLIED,
            ":pending": pending.status,
            ":at": record["applied_at"],
            ":month": applied.effective_month,
        }
        assignments = ["#status = :applied", "applied_at = :at", "effective_month = :month"]
        condition = "#status = :pending"
        if applied.approved_by:
            assignments.append("approved_by = :by")
            values[":by"] = applied.approved_by
        if applied.approved_principal:
            assignments.append("approved_principal = :principal")
            values[":principal"] = applied.approved_principal
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

    def _item(self, request: ChangeRequest) -> dict:
        record = {name: value for name, value in request.as_record().items() if value is not None}
        return {"pk": keys.change_request_pk(request.change_request_id), "sk": keys.CHANGE_REQUEST, **record}

    @staticmethod
    def _key(change_request_id: str) -> dict:
        return keys.key(keys.change_request_pk(change_request_id), keys.CHANGE_REQUEST)
