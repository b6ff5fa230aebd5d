"""Redelivery wired to the stack's stores, for the functions that re-drive delivery (the sweep, close runs)."""

from __future__ import annotations

from billing.dal import stores
from billing.dal.messaging import publish_all
from billing.delivery.redelivery import Redelivery
from billing.invoicing.close_run import MonthCloser
from billing.settings import settings


def redelivery(closer: MonthCloser | None = None) -> Redelivery:
    """A ``Redelivery`` on the BillingTable, the delivery dead-letter queue and the invoicing bus. With
    ``closer``, its sweep also finishes the corrections and return invoices their requests left ``numbered``."""
    return Redelivery(
        invoices=stores.invoices(),
        undelivered=stores.undelivered(),
        dead_letters=stores.delivery_dead_letters(),
        announce_all=lambda detail_type, details: publish_all(settings().event_bus_name, detail_type, details),
        finish=None if closer is None else closer.finish,
    )
