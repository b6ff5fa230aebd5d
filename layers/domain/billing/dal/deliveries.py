"""Delivery state: on the invoice item, and letters waiting for a print run.

Letters are items ``LETTERS#<posting date> / <account>#<document number>``;
``billing.dal.print_runs`` plans them into print batches and claims each for
one batch only.
"""

from __future__ import annotations

from datetime import date, timedelta

from billing import months
from billing.dal import keys
from billing.dal.clients import dynamodb
from billing.dal.conditional import put_if_absent, update_if
from billing.dal.invoices import document_key
from billing.dal.leases import Also, Lease, Unmet, Work
from billing.dal.undelivered import MARKER
from billing.delivery.channels import DeliveryPlan
from billing.delivery.deliverer import NotIssuedYet
from billing.invoicing.invoice import Invoice
from billing.vocabulary import AS_ISSUED, InvoiceStatus

# The deliver function runs at most 15 s (template.yaml) and a failed InvoiceIssued is retried after 1 and
# 2 minutes: a lease of 45 s never lapses under a live sender, and has lapsed by the first retry.
NOTICE = Work("notice", done_attribute="notified_at", ttl=timedelta(seconds=45))
# Delivery writes only on a document that is issued (a correction's original may be replaced since).
_ISSUED_VALUES = {f":{status}": str(status) for status in AS_ISSUED}
_ISSUED = f"#status IN ({', '.join(_ISSUED_VALUES)})"  # #status IN (:issued, :replaced)


def _issued(item: dict) -> bool:
    return InvoiceStatus.counts_as_issued(item.get("status"))


def letter_item(posting_on: date, account_id: str, number: str, month: str, correlation_id: str | None = None) -> dict:
    """A letter waiting for ``posting_on``'s print run: an invoice's, or a notice's."""
    item = {
        "pk": keys.letters_pk(posting_on.isoformat()),
        "sk": f"{account_id}#{number}",
        "account_id": account_id,
        "month": month,
        "invoice_number": number,
    }
    if correlation_id:  # the print run logs each letter with it
        item["correlation_id"] = correlation_id
    return item


class DeliveryStore:
    def __init__(self, table: str, client=None):
        self.table = table
        self.client = client or dynamodb()

    def record_plan(self, account_id: str, number: str, plan: DeliveryPlan) -> bool:
        """Record the plan once, on an issued document (else NotIssuedYet); True when recorded now."""
        values = {f":{name}": value for name, value in plan.as_record().items()}
        # A letter is queued before its plan is recorded: the plan ends a postal document's wait for delivery.
        delivered = f" REMOVE {', '.join(MARKER)}" if plan.channel == "postal" else ""
        recorded, before = update_if(
            self.client,
            self.table,
            document_key(account_id, number),
            "SET " + ", ".join(f"{name} = :{name}" for name in plan.as_record()) + delivered,
            f"attribute_not_exists(delivery_status) AND {_ISSUED}",
            {**values, **_ISSUED_VALUES},
            {"#status": "status"},
        )
        if not recorded and not _issued(before):
            raise NotIssuedYet(f"{number} of {account_id} is not issued yet")
        return recorded

    def take_notice(self, account_id: str, number: str, plan: DeliveryPlan | None = None) -> Lease | None:
        """The lease on the document's one notification email; None once it was sent. Raises LeaseBusy.

        With ``plan``, the same write records the plan (where none is) on an issued document (else
        NotIssuedYet): a web statement's delivery is then this write, the email and ``notice_sent``.
        """
        also = None
        if plan is not None:
            also = Also(_ISSUED, _ISSUED_VALUES, {"#status": "status"}, _issued, plan.as_record())
        try:
            return NOTICE.take(self.client, self.table, document_key(account_id, number), work_id=number, also=also)
        except Unmet:
            raise NotIssuedYet(f"{number} of {account_id} is not issued yet") from None

    def release_notice(self, lease: Lease) -> None:
        NOTICE.release(self.client, self.table, lease)

    def notice_sent(self, lease: Lease, message_id: str) -> None:
        result = {"notified_at": months.iso_now(), "notification_id": message_id}
        NOTICE.finish(self.client, self.table, lease, result, remove=MARKER)  # the notice ends the wait for delivery

    def add_letter(self, posting_on: date, invoice: Invoice, correlation_id: str | None = None) -> bool:
        item = letter_item(posting_on, invoice.account_id, invoice.invoice_number, invoice.month, correlation_id)
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
