"""Accounts in the BillingTable: the contract (first terms, changes, cancellation) on the profile item.

The profile item also carries the count path's month gate (``closed_through``,
``last#<month>``, ``contract_start``, ``contract_end``): see
``billing.dal.usage``. Every write here is a conditional update or put that
leaves those attributes alone, so a profile change never races a count.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from billing import months
from billing.contracts.accounts import AccountProfile
from billing.contracts.cancellation import Cancellation
from billing.contracts.payment_details import MandateStatus
from billing.contracts.terms import Contract, TermsChange
from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.conditional import update_if
from billing.dal.customer_numbers import MAX_ATTEMPTS as MAX_NUMBER_ATTEMPTS
from billing.dal.customer_numbers import CustomerNumbers, CustomerNumbersBusy
from billing.dal.payer_names import learn_payer_name
from billing.errors import AccountNotFound, AlreadyCancelled, ContractStartsInClosedMonth, MonthClosed, NotFound

_OPEN_MONTH = "(attribute_not_exists(closed_through) OR closed_through < :month)"


class AccountStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()
        self.customer_numbers = CustomerNumbers(table, self.client)

    def create(self, profile: AccountProfile) -> tuple[bool, Contract]:
        """Store a new account once, with the next customer number: (created, the contract as it stands).

        Only while no close has started for the month of ``contract_start`` or a later one: that close has
        listed (or is listing) the accounts to bill without this one, so the month would never be invoiced.
        One transaction checks the closes' mark (``billing.dal.close_runs`` raises it before it lists), takes
        the next customer number (on condition the counter still stands where it was read), claims that
        number and puts the profile. So a close that starts meanwhile either sees the account or refuses it,
        and two accounts created at once never share a number: the one that loses the counter tries again.
        """
        now = months.iso_now()
        body = profile.as_json()
        item = {
            **self._key_attrs(profile.account_id),
            "account_id": profile.account_id,
            "account_shard": keys.account_shard(profile.account_id),  # AccountsByShard lists every account
            "contract_start": body.pop("contract_start"),
            "terms": {name: value for name, value in body.items() if name != "account_id"},
            "created_at": now,
            "updated_at": now,
        }
        if profile.debit_account is not None:
            item["mandate_status"] = MandateStatus.PENDING.value
        first_month = item["contract_start"][:7]
        for _ in range(MAX_NUMBER_ATTEMPTS):
            number = self.customer_numbers.next_free()
            writes = [
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": keys.LATEST_CLOSE,
                        "ConditionExpression": "attribute_not_exists(latest) OR latest < :month",
                        "ExpressionAttributeValues": to_item({":month": first_month}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({**item, "customer_number": number.number}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                *self.customer_numbers.claim(number, profile.account_id),
            ]
            if profile.payer_name_kana:  # transfers under this name match the account
                writes.append(learn_payer_name(self.table, profile.payer_name_kana, profile.account_id))
            try:
                self.client.transact_write_items(TransactItems=writes)
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise  # a conflict with another transaction included: the caller's retry settles it
                closes, existing = (reason.get("Item") for reason in error.response["CancellationReasons"][:2])
                if existing:  # the same body again is a safe retry, whatever has closed since
                    return False, contract_of(from_item(existing))
                if closes:
                    raise ContractStartsInClosedMonth(item["contract_start"], from_item(closes)["latest"]) from None
                if any(reason.get("Code") == "ConditionalCheckFailed" for reason in claims_refused(error)):
                    continue  # another account took the number first: take the next
                raise
            return True, contract_of({**item, "customer_number": number.number})
        raise CustomerNumbersBusy(f"no customer number after {MAX_NUMBER_ATTEMPTS} tries")

    def get(self, account_id: str) -> Contract:
        response = self.client.get_item(TableName=self.table, Key=self._key(account_id), ConsistentRead=True)
        if "Item" not in response:
            raise AccountNotFound(account_id)
        return contract_of(from_item(response["Item"]))

    def add_change(self, account_id: str, change: TermsChange, extra_condition: dict | None = None) -> dict:
        """The update (for a transaction) that appends ``change``, only while its month is open for the account.

        A new debit account starts its mandate again: ``pending`` until a debit of it succeeds.
        """
        new_mandate = change.changes.debit_account is not None
        return {
            "TableName": self.table,
            "Key": self._key(account_id),
            "UpdateExpression": "SET term_changes = list_append(if_not_exists(term_changes, :none), :change),"
            " updated_at = :now" + (", mandate_status = :pending" if new_mandate else ""),
            "ConditionExpression": f"attribute_exists(pk) AND {_OPEN_MONTH}",
            "ExpressionAttributeValues": to_item(
                {
                    ":none": [],
                    ":change": [change.as_record()],
                    ":now": months.iso_now(),
                    ":month": change.effective_month,
                }
                | ({":pending": MandateStatus.PENDING.value} if new_mandate else {})
            ),
        }

    def cancel(self, account_id: str, cancellation: Cancellation) -> bool:
        """Record the cancellation once: True when recorded now, False when the same one already stood."""
        stored, old = update_if(
            self.client,
            self.table,
            self._key(account_id),
            "SET cancellation = :cancellation, contract_end = :end, updated_at = :now",
            f"attribute_exists(pk) AND attribute_not_exists(cancellation) AND {_OPEN_MONTH}",
            {
                ":cancellation": cancellation.as_record(),
                ":end": cancellation.contract_end.isoformat(),
                ":now": months.iso_now(),
                ":month": cancellation.end_month,
            },
        )
        if stored:
            return True
        if not old:
            raise AccountNotFound(account_id)
        if "cancellation" in old:
            standing = Cancellation.from_record(old["cancellation"])
            if standing == cancellation:
                return False
            raise AlreadyCancelled(account_id, standing.end_month)
        raise MonthClosed(cancellation.end_month)

    def withdraw_cancellation(self, account_id: str) -> Cancellation:
        """Remove the cancellation while its end month is open; the one removed."""
        removed, old = update_if(
            self.client,
            self.table,
            self._key(account_id),
            "REMOVE cancellation, contract_end SET updated_at = :now",
            "attribute_exists(cancellation)"
            " AND (attribute_not_exists(closed_through) OR closed_through < cancellation.end_month)",
            {":now": months.iso_now()},
            returns="ALL_OLD",
        )
        if not old:
            raise AccountNotFound(account_id)
        if "cancellation" not in old:
            raise NotFound(f"account {account_id!r} has no cancellation to withdraw")
        standing = Cancellation.from_record(old["cancellation"])
        if not removed:
            raise MonthClosed(standing.end_month)
        return standing

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

    @staticmethod
    def _key(account_id: str) -> dict:
        return keys.key(keys.account_pk(account_id), keys.PROFILE)

    @staticmethod
    def _key_attrs(account_id: str) -> dict:
        return {"pk": keys.account_pk(account_id), "sk": keys.PROFILE}


def claims_refused(error: ClientError) -> list[dict]:
    """The cancellation reasons of a creation's customer-number writes (after the close check and the put)."""
    return error.response["CancellationReasons"][2:]


def contract_of(item: dict) -> Contract:
    """The domain's contract from a stored profile item."""
    first = AccountProfile.from_json(item["account_id"], {**item["terms"], "contract_start": item["contract_start"]})
    cancellation = item.get("cancellation")
    mandate = item.get("mandate_status")
    return Contract(
        first=first,
        history=tuple(TermsChange.from_record(change) for change in item.get("term_changes", [])),
        cancellation=Cancellation.from_record(cancellation) if cancellation else None,
        closed_through=item.get("closed_through"),
        customer_number=item.get("customer_number"),
        mandate_status=MandateStatus(mandate) if mandate else None,
        credit_balance=item.get("credit_balance", 0),
    )
