"""Delivering issued invoices: a web statement with its notice, or a letter for the print run.

Safe to repeat: a redelivered ``InvoiceIssued`` event finds the plan
recorded, the notification claimed and the letter queued. The print run
itself is ``billing.delivery.print_run``. The stores are passed in; this
module never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from billing.delivery.channels import plan_delivery, statement_notification
from billing.emails import Email
from billing.invoicing.invoice import Invoice


class NotIssuedYet(RuntimeError):
    """The event arrived before the invoice record says issued; retry later."""


@dataclass
class Deliverer:
    invoices: object  # InvoiceStore
    deliveries: object  # DeliveryStore
    send_email: Callable[[Email, str], str]  # (email, the notice's stable id) -> the provider's message id
    statements_url: str

    def deliver(self, account_id: str, number: str, correlation_id: str | None = None) -> str:
        record = self.invoices.get(account_id, number)
        if not record or record.get("status") not in ("issued", "replaced"):
            raise NotIssuedYet(f"{number} of {account_id} is not issued yet")
        invoice = Invoice.from_record(record)
        plan = plan_delivery(invoice)
        if plan.channel == "postal":
            self.deliveries.add_letter(plan.posting_on, invoice, correlation_id)
        self.deliveries.record_plan(account_id, number, plan)
        if plan.channel == "web":
            self._notify_once(invoice)
        return plan.channel

    def _notify_once(self, invoice: Invoice) -> None:
        """Lease, send, finish: a redelivery sends nothing twice, a failed send is retried.

        Another live sender's lease raises ``LeaseBusy``, so this event fails and
        comes back after the lease lapses, instead of succeeding with no email.
        """
        lease = self.deliveries.take_notice(invoice.account_id, invoice.invoice_number)
        if lease is None:
            return  # sent already
        try:
            message_id = self.send_email(statement_notification(invoice, self.statements_url), lease.work_id)
        except Exception:
            self.deliveries.release_notice(lease)
            raise
        self.deliveries.notice_sent(lease, message_id)
