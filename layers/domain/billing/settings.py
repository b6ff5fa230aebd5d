"""Settings read from the environment that template.yaml sets, once, lazily.

Nothing is read at import time, so a test can set variables (or point boto3
at moto) after importing a handler. Each function reads only what its
template entry gives it; a missing variable fails with its name.
"""

from __future__ import annotations

import functools
import os
from functools import cached_property


class Settings:
    @cached_property
    def table_name(self) -> str:
        return _required("TABLE_NAME")

    @cached_property
    def invoice_bucket(self) -> str:
        return _required("INVOICE_BUCKET")

    @cached_property
    def event_bus_name(self) -> str:
        return _required("EVENT_BUS_NAME")

    @cached_property
    def account_pages_queue_url(self) -> str:
        return _required("ACCOUNT_PAGES_QUEUE_URL")

    @cached_property
    def issue_invoice_queue_url(self) -> str:
        return _required("ISSUE_INVOICE_QUEUE_URL")

    @cached_property
    def issue_invoice_dead_letter_queue_url(self) -> str:
        return _required("ISSUE_INVOICE_DEAD_LETTER_QUEUE_URL")

    @cached_property
    def deliver_invoice_dead_letter_queue_url(self) -> str:
        return _required("DELIVER_INVOICE_DEAD_LETTER_QUEUE_URL")

    @cached_property
    def issue_max_receive_count(self) -> int:
        return int(_required("ISSUE_MAX_RECEIVE_COUNT"))

    @cached_property
    def print_run_queue_url(self) -> str:
        return _required("PRINT_RUN_QUEUE_URL")

    @cached_property
    def print_batch_queue_url(self) -> str:
        return _required("PRINT_BATCH_QUEUE_URL")

    @cached_property
    def debit_run_pages_queue_url(self) -> str:
        return _required("DEBIT_RUN_PAGES_QUEUE_URL")

    @cached_property
    def debit_results_queue_url(self) -> str:
        return _required("DEBIT_RESULTS_QUEUE_URL")

    @cached_property
    def bank_credit_pages_queue_url(self) -> str:
        return _required("BANK_CREDIT_PAGES_QUEUE_URL")

    @cached_property
    def reminder_pages_queue_url(self) -> str:
        return _required("REMINDER_PAGES_QUEUE_URL")

    @cached_property
    def debit_lead_business_days(self) -> int:
        return int(_required("DEBIT_LEAD_BUSINESS_DAYS"))

    @cached_property
    def notification_sender(self) -> str:
        return _required("NOTIFICATION_SENDER")

    @cached_property
    def statements_url(self) -> str:
        return _required("STATEMENTS_URL")

    @cached_property
    def confirmation_page_url(self) -> str:
        """The customer API's base URL: the confirmation email links to ``/change-requests/<id>`` under it."""
        return _required("CONFIRMATION_PAGE_URL")


@functools.cache
def settings() -> Settings:
    return Settings()


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml sets it)")
    return value
