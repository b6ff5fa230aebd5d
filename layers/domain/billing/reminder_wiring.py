"""The daily reminder run wired to the stack: its store, page queue, mail, letters and bus."""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from datetime import date

from billing.bank_calendar import posting_date
from billing.dal import keys, stores
from billing.dal.mail import send_email
from billing.dal.messaging import publish, send_messages
from billing.delivery.notices import Notice, reminder_number
from billing.delivery.payment_notices import Owed, PaymentReminder
from billing.invoicing.issuer import load_issuer
from billing.invoicing.numbers import document_month
from billing.payments.reminders import DueReminder, ReminderPage, ReminderRun
from billing.schema.messages import InvoiceOverdueDetail, ReminderPageMessage
from billing.settings import settings

logger = logging.getLogger(__name__)


@functools.cache
def reminder_run() -> ReminderRun:
    return ReminderRun(
        store=stores.reminders(),
        shards=keys.all_shards(),
        queue_pages=queue_pages,
        send=send_reminder,
        announce_overdue=announce_overdue,
    )


def queue_pages(pages: list[ReminderPage]) -> None:
    send_messages(settings().reminder_pages_queue_url, [ReminderPageMessage(**asdict(p)).body() for p in pages])


def reminder_page(message: ReminderPageMessage) -> ReminderPage:
    return ReminderPage(message.today, message.pay_by, message.shard, message.cursor)


def reminder_of(due: DueReminder) -> PaymentReminder:
    issuer, document, debtor = load_issuer(), due.document, due.debtor
    return PaymentReminder(
        level=due.level,
        recipient_line=debtor.contact.recipient,
        email=debtor.contact.email,
        issuer_name=issuer.name,
        customer_number=debtor.customer_number,
        bank_account=issuer.bank.display,
        account_holder=issuer.bank.account_holder,
        owed=Owed(document.number, document_month(document.number), document.balance),
        pay_by=document.pay_by,
    )


def send_reminder(due: DueReminder, today: date) -> None:
    """An email for a web account; a letter in the next print run for a postal one."""
    reminder = reminder_of(due)
    if due.channel == "letter":
        notice = Notice(
            invoice_number=reminder_number(due.document.number, due.level),
            account_id=due.account_id,
            issued_on=today,
            title=reminder.title,
            lines=tuple(reminder.lines()),
            recipient=due.debtor.contact,
            recipient_line=reminder.recipient_line,
            issuer=load_issuer(),
        )
        stores.notices().add(posting_date(today), notice)
    else:
        notice_id = f"reminder-{due.document.number}-{due.level}"
        send_email(settings().notification_sender, reminder.as_email(), notice_id=notice_id)
    logger.info(
        "reminder sent",
        extra={"account_id": due.account_id, "invoice_number": due.document.number, "level": due.level},
    )


def announce_overdue(due: DueReminder, today: date) -> None:
    detail = InvoiceOverdueDetail(
        account_id=due.account_id,
        invoice_number=due.document.number,
        pay_by=due.document.pay_by,
        balance=due.document.balance,
        reminded_on=today,
    )
    publish(settings().event_bus_name, "InvoiceOverdue", detail.body())
