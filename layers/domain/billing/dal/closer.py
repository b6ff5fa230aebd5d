"""The month closer wired to the stack's stores, for the functions that issue documents."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from billing.dal.accounts import AccountStore
from billing.dal.archive import InvoiceArchive
from billing.dal.close_runs import CloseRunStore
from billing.dal.invoices import InvoiceStore
from billing.dal.messaging import publish
from billing.dal.usage import UsageStore
from billing.invoicing.closing import MonthCloser
from billing.invoicing.invoice import Invoice
from billing.invoicing.issuer import load_issuer
from billing.settings import settings
from billing.tariff import load_tariff


def month_closer(render: Callable[[Invoice], bytes]) -> MonthCloser:
    """A ``MonthCloser`` on the BillingTable, the InvoiceBucket and the invoicing bus, rendering with ``render``."""
    table = settings().table_name
    stores = SimpleNamespace(
        accounts=AccountStore(table),
        usage=UsageStore(table),
        invoices=InvoiceStore(table),
        archive=InvoiceArchive(settings().invoice_bucket),
        runs=CloseRunStore(table),
    )
    return MonthCloser(
        stores=stores,
        tariff=load_tariff(),
        issuer=load_issuer(),
        render=render,
        announce=lambda detail_type, detail: publish(settings().event_bus_name, detail_type, detail),
    )
