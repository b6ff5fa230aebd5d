"""Every store, built once per process from settings: handlers ask here instead of building their own.

Each factory is cached (the store, and the botocore client it holds, live as
long as the execution environment) and imports its store's module when first
called, so a function imports only the stores it uses: the count function's
cold start has a bar (docs/architecture.md), and a report needs one store
(the count function imports its module itself, to keep it in the init
phase). botocore, most of what any store costs to import, is imported with
this module, in the init phase (SnapStart's snapshot). No store is built at
import: a client made before a SnapStart restore would carry the snapshot's
credentials and connections (``billing/snapstart.py``).

In a test process every function loaded shares them (on Lambda each function
has its own process); ``clear()`` forgets them all, and the integration tests
call it before and after each test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import billing.dal.clients  # noqa: F401 - botocore in the init phase, for every function that uses a store
from billing.settings import settings

if TYPE_CHECKING:
    from billing.dal.accounts import AccountStore
    from billing.dal.archive import InvoiceArchive
    from billing.dal.bank_credits import BankCreditStore
    from billing.dal.change_requests import ChangeRequestStore
    from billing.dal.churn import ChurnStore
    from billing.dal.close_runs import CloseRunStore
    from billing.dal.dead_letters import DeadLetterQueue
    from billing.dal.debit_runs import DebitRunStore
    from billing.dal.deliveries import DeliveryStore
    from billing.dal.documents import DocumentStore
    from billing.dal.invoice_search import DocumentIndex
    from billing.dal.invoices import InvoiceStore
    from billing.dal.ledger import LedgerStore
    from billing.dal.notices import NoticeStore
    from billing.dal.print_runs import PrintRunStore
    from billing.dal.receivables import ReceivablesReader
    from billing.dal.reminders import ReminderStore
    from billing.dal.undelivered import UndeliveredIndex
    from billing.dal.usage import UsageStore
    from billing.dal.usage_alerts import UsageAlertStore

T = TypeVar("T")
_FACTORIES: list = []  # each cached factory, for clear()


def _once(factory: Callable[[], T]) -> Callable[[], T]:
    cached = functools.cache(factory)
    _FACTORIES.append(cached)
    return cached


def clear() -> None:
    """Forget every store built so far: the next call builds it again, from the settings of then."""
    for factory in _FACTORIES:
        factory.cache_clear()


# ---------------------------------------------------------------- the BillingTable
@_once
def usage() -> UsageStore:
    from billing.dal.usage import UsageStore

    return UsageStore(settings().table_name)


@_once
def usage_alerts() -> UsageAlertStore:
    from billing.dal.usage_alerts import UsageAlertStore

    return UsageAlertStore(settings().table_name, usage=usage())


@_once
def accounts() -> AccountStore:
    from billing.dal.accounts import AccountStore

    return AccountStore(settings().table_name)


@_once
def change_requests() -> ChangeRequestStore:
    from billing.dal.change_requests import ChangeRequestStore

    return ChangeRequestStore(settings().table_name, accounts=accounts())


@_once
def churn() -> ChurnStore:
    from billing.dal.churn import ChurnStore

    return ChurnStore(settings().table_name)


@_once
def invoices() -> InvoiceStore:
    from billing.dal.invoices import InvoiceStore

    return InvoiceStore(settings().table_name)


@_once
def documents() -> DocumentStore:
    from billing.dal.documents import DocumentStore

    return DocumentStore(settings().table_name, invoices=invoices())


@_once
def document_index() -> DocumentIndex:
    from billing.dal.invoice_search import DocumentIndex

    return DocumentIndex(settings().table_name)


@_once
def undelivered() -> UndeliveredIndex:
    from billing.dal.undelivered import UndeliveredIndex

    return UndeliveredIndex(settings().table_name)


@_once
def deliveries() -> DeliveryStore:
    from billing.dal.deliveries import DeliveryStore

    return DeliveryStore(settings().table_name)


@_once
def print_runs() -> PrintRunStore:
    from billing.dal.print_runs import PrintRunStore

    return PrintRunStore(settings().table_name)


@_once
def close_runs() -> CloseRunStore:
    from billing.dal.close_runs import CloseRunStore

    return CloseRunStore(settings().table_name)


@_once
def debit_runs() -> DebitRunStore:
    from billing.dal.debit_runs import DebitRunStore

    return DebitRunStore(settings().table_name)


@_once
def bank_credits() -> BankCreditStore:
    from billing.dal.bank_credits import BankCreditStore

    return BankCreditStore(settings().table_name, ledger())


@_once
def reminders() -> ReminderStore:
    from billing.dal.reminders import ReminderStore

    return ReminderStore(settings().table_name)


@_once
def receivables() -> ReceivablesReader:
    from billing.dal.receivables import ReceivablesReader

    return ReceivablesReader(settings().table_name)


@_once
def ledger() -> LedgerStore:
    from billing.dal.ledger import LedgerStore

    return LedgerStore(settings().table_name)


@_once
def notices() -> NoticeStore:
    from billing.dal.notices import NoticeStore

    return NoticeStore(settings().table_name)


# ---------------------------------------------------------------- the InvoiceBucket and the queues
@_once
def archive() -> InvoiceArchive:
    from billing.dal.archive import InvoiceArchive

    return InvoiceArchive(settings().invoice_bucket)


@_once
def issue_dead_letters() -> DeadLetterQueue:
    from billing.dal.dead_letters import DeadLetterQueue

    return DeadLetterQueue(settings().issue_invoice_dead_letter_queue_url)


@_once
def delivery_dead_letters() -> DeadLetterQueue:
    from billing.dal.dead_letters import DeadLetterQueue

    return DeadLetterQueue(settings().deliver_invoice_dead_letter_queue_url)
