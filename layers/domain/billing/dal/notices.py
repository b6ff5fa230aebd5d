"""Notice letters in the BillingTable: the notice under its account (``NOTICE#<number>``) and its letter waiting for
the print run (``LETTERS#<posting date> / <account>#<number>``, as an invoice's letter waits), put together once."""

from __future__ import annotations

from datetime import date

from botocore.exceptions import ClientError

from billing.dal import keys
from billing.dal.clients import dynamodb, from_item, to_item
from billing.dal.deliveries import letter_item
from billing.delivery.notices import Notice


def notice_key(account_id: str, number: str) -> dict:
    return keys.key(keys.account_pk(account_id), f"NOTICE#{number}")


class NoticeStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def add(self, posting_on: date, notice: Notice) -> bool:
        """Store the notice and queue its letter for ``posting_on``'s print run, in one transaction; False when
        it was there (a repeat)."""
        letter = letter_item(posting_on, notice.account_id, notice.invoice_number, notice.month)
        item = {**notice_key(notice.account_id, notice.invoice_number), **to_item(notice.as_record())}
        new = "attribute_not_exists(pk)"
        writes = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": new}},
            {"Put": {"TableName": self.table, "Item": to_item(letter), "ConditionExpression": new}},
        ]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if error.response["Error"]["Code"] == "TransactionCanceledException" and any(
                r.get("Code") == "ConditionalCheckFailed" for r in reasons
            ):
                return False
            raise
        return True

    def get_many(self, wanted: list[tuple[str, str]]) -> list[Notice]:
        """Notices by (account, number), 100 to a BatchGetItem; every one must exist."""
        found: dict[tuple[str, str], Notice] = {}
        for start in range(0, len(wanted), 100):
            request = {self.table: {"Keys": [notice_key(*key) for key in wanted[start : start + 100]]}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in map(from_item, response["Responses"].get(self.table, [])):
                    notice = Notice.from_record(item)
                    found[(notice.account_id, notice.invoice_number)] = notice
                request = response.get("UnprocessedKeys") or {}
        missing = [key for key in wanted if key not in found]
        if missing:
            raise LookupError(f"no notice {missing[0][1]} of {missing[0][0]} ({len(missing)} missing)")
        return [found[key] for key in wanted]
