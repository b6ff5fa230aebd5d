"""Delivering issued invoices: a web statement with its notice, or a letter for the print run.

Safe to repeat: a redelivered ``InvoiceIssued`` event finds the plan
recorded, the notification claimed and the letter queued. The print run
itself is ``billing.delivery.print_run``. The stores are passed in; this
module never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from billing.delivery.channels import (
    DeliveryPlan,
    StatementNotice,
    plan_delivery,
    plan_for,
    statement_notification,
)
from billing.emails import Email
from billing.invoicing.announcements import InvoiceIssued
from billing.invoicing.invoice import Invoice
from billing.vocabulary import InvoiceStatus


class NotIssuedYet(RuntimeError):
    """The event arrived before the invoice record says issued; retry later."""


@dataclass
class Deliverer:
    invoices: object  # InvoiceStore
    deliveries: object  # DeliveryStore
    send_email: Callable[[Email, str], str]  # (email, the notice's stable id) -> the provider's message id
    statements_url: str

    def deliver_issued(self, issued: InvoiceIssued, correlation_id: str | None = None) -> str:
        """Deliver what the ``InvoiceIssued`` event says, reading nothing: postal, the letter then the plan;
        web, the notice's lease with the plan, the email, the notice recorded. Each write checks the record is
        issued. An event from before the detail carried the notice reads the record (``deliver``).
        """
        if issued.email is None or issued.recipient_line is None or issued.issuer_name is None:
            return self.deliver(issued.account_id, issued.invoice_number, correlation_id)
        plan = plan_for(issued.delivery_method, issued.issued_on)
        if plan.channel == "postal":
            self.deliveries.add_letter(plan.posting_on, issued, correlation_id)
            self.deliveries.record_plan(issued.account_id, issued.invoice_number, plan)
        else:
            notice = StatementNotice(
                invoice_number=issued.invoice_number,
                month=issued.month,
                kind=issued.kind,
                total=issued.total,
                payment_method=issued.payment_method,
                due_on=issued.due_on,
                debit_on=issued.debit_on,
                replaces=issued.replaces,
                recipient_line=issued.recipient_line,
                email=issued.email,
                issuer_name=issued.issuer_name,
            )
            self._notify_once(issued.account_id, notice, plan)
        return plan.channel

    def deliver(self, account_id: str, number: str, correlation_id: str | None = None) -> str:
        """Deliver the stored document: read it, then as ``deliver_issued``."""
        record = self.invoices.get(account_id, number)
        if not record or not InvoiceStatus.counts_as_issued(record.get("status")):
            raise NotIssuedYet(f"{number} of {account_id} is not issued yet")
        invoice = Invoice.from_record(record)
        plan = plan_delivery(invoice)
        if plan.channel == "postal":
            self.deliveries.add_letter(plan.posting_on, invoice, correlation_id)
        self.deliveries.record_plan(account_id, number, plan)
        if plan.channel == "web":
            self._notify_once(account_id, StatementNotice.of(invoice))
        return plan.channel

    def _notify_once(self, account_id: str, notice: StatementNotice, plan: DeliveryPlan | None = None) -> None:
        """Lease, send, finish: a redelivery sends nothing twice, a failed send is retried.

        Another live sender's lease raises ``LeaseBusy``, so this event fails and
        comes back after the lease lapses, instead of succeeding with no email.
        With ``plan``, taking the lease also records it.
        """
        lease = self.deliveries.take_notice(account_id, notice.invoice_number, plan)
        if lease is None:
            return  # sent already
        try:
            message_id = self.send_email(statement_notification(notice, self.statements_url), lease.work_id)
        except Exception:
            self.deliveries.release_notice(lease)
            raise
        self.deliveries.notice_sent(lease, message_id)
