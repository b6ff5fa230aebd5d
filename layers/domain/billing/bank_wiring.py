"""Bank-file imports wired to the stack: the store, the archive, the page queue and the bus."""

from __future__ import annotations

import functools

from billing.dal import stores
from billing.dal.messaging import publish_all, send_messages
from billing.payments.bank_credits import BankCreditImport, CreditPage, StoredCredit
from billing.schema.messages import BankCreditPageMessage, InvoicePaidDetail
from billing.settings import settings


@functools.cache
def bank_imports() -> BankCreditImport:
    return BankCreditImport(
        store=stores.bank_credits(),
        archive=stores.archive(),
        queue_pages=queue_pages,
        announce_paid=announce_settled,
    )


def queue_pages(pages: list[CreditPage]) -> None:
    send_messages(settings().bank_credit_pages_queue_url, [BankCreditPageMessage(**p.as_json()).body() for p in pages])


def credit_page(message: BankCreditPageMessage) -> CreditPage:
    return CreditPage.from_json(message.model_dump(mode="json"))


def announce_settled(paid: list[StoredCredit]) -> None:
    """``InvoicePaid`` for each document the transfers paid off, ten events to a call."""
    details = [
        InvoicePaidDetail(
            account_id=stored.account_id, invoice_number=number, received_on=stored.credit.booked_on,
            method="bank_transfer",
        ).body()
        for stored in paid
        for number in stored.settled
    ]  # fmt: skip
    if details and publish_all(settings().event_bus_name, "InvoicePaid", details):
        raise RuntimeError("InvoicePaid not published; the page is imported again (it records nothing twice)")
