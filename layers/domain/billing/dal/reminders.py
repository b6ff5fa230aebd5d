"""Reminders (督促) in the BillingTable: the documents a run reads, whom they go to, and each reminder recorded on
its document once.

A document's reminders are the list ``reminders`` (``{level, sent_on, channel}``), with ``reminder_level`` the
highest recorded and ``reminder_unsent`` the level recorded but not yet marked sent. Recording conditions on the
document still owing and on no level as high recorded, so money that arrives first stops it and no level goes
twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from botocore.exceptions import ClientError

from billing.dal import keys
from billing.dal.accounts import contract_of
from billing.dal.clients import dynamodb, from_item, to_item
from billing.payments.ledger import Receivable, Reminder, receivable_of
from billing.payments.reminders import Claim, Debtor, DueReminder, ReminderPage

PAGE_SIZE = 100  # documents per page: a page's accounts fit one BatchGetItem


class ReminderStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def due_page(self, page: ReminderPage) -> tuple[list[tuple[str, Receivable]], dict | None]:
        answer = self.client.query(
            TableName=self.table,
            IndexName=keys.DOCUMENTS_BY_PAY_BY,
            KeyConditionExpression="due_shard = :partition",
            FilterExpression="amount_due > paid_amount",
            ExpressionAttributeValues=to_item({":partition": f"{page.pay_by.isoformat()}#{page.shard}"}),
            Limit=PAGE_SIZE,
            **({"ExclusiveStartKey": page.cursor} if page.cursor else {}),
        )
        items = [from_item(item) for item in answer.get("Items", [])]
        return [(item["account_id"], receivable_of(item)) for item in items], answer.get("LastEvaluatedKey")

    def debtors(self, account_ids: Sequence[str], today: date) -> dict[str, Debtor]:
        wanted = [keys.key(keys.account_pk(a), keys.PROFILE) for a in account_ids]
        found = {}
        while wanted:
            answer = self.client.batch_get_item(RequestItems={self.table: {"Keys": wanted}})
            for item in answer.get("Responses", {}).get(self.table, []):
                contract = contract_of(from_item(item))
                terms = contract.terms_for(f"{today:%Y-%m}")
                found[contract.account_id] = Debtor(
                    contract.account_id, contract.customer_number or "", str(terms.delivery_method),
                    terms.billing_contact,
                )  # fmt: skip
            wanted = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return found

    def claim(self, due: DueReminder, today: date) -> Claim:
        entry = Reminder(due.level, today, due.channel).as_json()
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_document_key(due),
                UpdateExpression="SET reminders = list_append(if_not_exists(reminders, :none), :entry),"
                " reminder_level = :level, reminder_unsent = :level",
                ConditionExpression="amount_due > paid_amount"
                " AND (attribute_not_exists(reminder_level) OR reminder_level < :level)",
                ExpressionAttributeValues=to_item({":none": [], ":entry": [entry], ":level": due.level}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = from_item(error.response.get("Item"))
            owing = old.get("amount_due", 0) > old.get("paid_amount", 0)
            return Claim.UNSENT if owing and old.get("reminder_unsent") == due.level else Claim.DONE
        return Claim.NEW

    def sent(self, due: DueReminder) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_document_key(due),
                UpdateExpression="REMOVE reminder_unsent",
                ConditionExpression="reminder_unsent = :level",
                ExpressionAttributeValues=to_item({":level": due.level}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # otherwise marked by another delivery of the page


def _document_key(due: DueReminder) -> dict:
    return keys.key(keys.account_pk(due.account_id), keys.document_sk(due.document.number))
