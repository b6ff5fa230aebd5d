"""Bank-file imports wired to the stack: the store, the archive, the page queue and the bus."""

from __future__ import annotations

import functools

from billing.dal import stores
from billing.dal.messaging import send_messages
from billing.debit_wiring import announce_paid
from billing.payments.bank_credits import BankCreditImport, CreditPage, StoredCredit
from billing.schema.messages import BankCreditPageMessage
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


def announce_settled(stored: StoredCredit) -> None:
    """``InvoicePaid`` for each document a transfer paid off."""
    if stored.settled and stored.account_id:
        announce_paid(stored.account_id, list(stored.settled), stored.credit.booked_on, "bank_transfer")
