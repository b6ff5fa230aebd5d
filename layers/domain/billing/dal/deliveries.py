"""Delivery state: on the invoice item, and letters waiting for a print run.

Letters are items ``LETTERS#<posting date> / <account>#<document number>``;
``billing.dal.print_runs`` plans them into print batches and claims each for
one batch only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb, to_item
from billing.dal.conditional import put_if_absent, update_if
from billing.dal.invoices import document_key
from billing.delivery.channels import DeliveryPlan
from billing.invoicing.invoice import Invoice

CLAIM_TIMEOUT = timedelta(minutes=15)  # a notification claim older than this was left by a crashed sender


class DeliveryStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def record_plan(self, account_id: str, number: str, plan: DeliveryPlan) -> bool:
        values = {f":{name}": value for name, value in plan.as_record().items()}
        return self._conditional(
            document_key(account_id, number),
            "SET " + ", ".join(f"{name} = :{name}" for name in plan.as_record()),
            "attribute_not_exists(delivery_status)",
            values,
        )

    def claim_notification(self, account_id: str, number: str) -> str | None:
        """The right to send the invoice's one notification email, or None.

        Nobody else may hold it: it is free when no email was sent and no
        claim is younger than CLAIM_TIMEOUT (a sender that crashed mid-way).
        """
        now = datetime.now(UTC)
        claimed = self._conditional(
            document_key(account_id, number),
            "SET notification_claimed_at = :now",
            "attribute_not_exists(notified_at)"
            " AND (attribute_not_exists(notification_claimed_at) OR notification_claimed_at < :stale)",
            {":now": now.isoformat(), ":stale": (now - CLAIM_TIMEOUT).isoformat()},
        )
        return now.isoformat() if claimed else None

    def release_notification(self, account_id: str, number: str, claim: str) -> None:
        """Give the claim back after a failed send, so the retry sends it."""
        self._conditional(
            document_key(account_id, number),
            "REMOVE notification_claimed_at",
            "notification_claimed_at = :claim",
            {":claim": claim},
        )

    def mark_notified(self, account_id: str, number: str, message_id: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=document_key(account_id, number),
            UpdateExpression="SET notified_at = :now, notification_id = :id",
            ExpressionAttributeValues=to_item({":now": months.iso_now(), ":id": message_id}),
        )

    def add_letter(self, posting_on: date, invoice: Invoice) -> bool:
        item = {
            "pk": keys.letters_pk(posting_on.isoformat()),
            "sk": f"{invoice.account_id}#{invoice.invoice_number}",
            "account_id": invoice.account_id,
            "month": invoice.month,
            "invoice_number": invoice.invoice_number,
        }
        return put_if_absent(self.client, self.table, item)[0]

    def mark_posted(self, account_id: str, number: str, posted_on: date, arrival: date) -> bool:
        """batched → posted, once: a retried print batch finds it posted and changes nothing."""
        return self._conditional(
            document_key(account_id, number),
            "SET delivery_status = :posted, posting_on = :on, estimated_arrival = :arrival",
            "delivery_status = :batched",
            {":posted": "posted", ":batched": "batched", ":on": posted_on.isoformat(), ":arrival": arrival.isoformat()},
        )

    def _conditional(self, key: dict, update: str, condition: str, values: dict) -> bool:
        return update_if(self.client, self.table, key, update, condition, values)[0]
