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
    send_email: Callable[[Email], str]  # returns the provider's message id
    statements_url: str

    def deliver(self, account_id: str, number: str) -> str:
        record = self.invoices.get(account_id, number)
        if not record or record.get("status") not in ("issued", "replaced"):
            raise NotIssuedYet(f"{number} of {account_id} is not issued yet")
        invoice = Invoice.from_record(record)
        plan = plan_delivery(invoice)
        if plan.channel == "postal":
            self.deliveries.add_letter(plan.posting_on, invoice)
        self.deliveries.record_plan(account_id, number, plan)
        if plan.channel == "web":
            self._notify_once(invoice)
        return plan.channel

    def _notify_once(self, invoice: Invoice) -> None:
        """Claim, send, mark: a redelivery sends nothing twice, a failed send is retried."""
        claim = self.deliveries.claim_notification(invoice.account_id, invoice.invoice_number)
        if claim is None:
            return  # sent already, or another delivery is sending it now
        try:
            message_id = self.send_email(statement_notification(invoice, self.statements_url))
        except Exception:
            self.deliveries.release_notification(invoice.account_id, invoice.invoice_number, claim)
            raise
        self.deliveries.mark_notified(invoice.account_id, invoice.invoice_number, message_id)
