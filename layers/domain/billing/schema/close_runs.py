"""The operator API's close-run answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from billing.schema.fields import Document


class CloseRunOut(Document):
    month: str
    status: Literal["running", "done", "attention"]
    total: int  # accounts fanned out so far, one reserved invoice number each
    issued: int
    skipped: int
    failed: int  # accounts whose last try failed (or whose number found no billable contract), not retried since
    dead_letters: int  # the month's messages in IssueInvoiceDeadLetterQueue
    first_number: str | None  # INV-<YYYYMM>-0000001, null before any number is reserved
    last_number: str | None  # the last number reserved so far
    undelivered: int  # the month's documents (invoices, corrections, return invoices) whose notice or letter
    # is not recorded yet: in flight, or waiting for the delivery sweep to announce them again
    delivery_dead_letters: int  # the month's InvoiceIssued events in DeliverInvoiceDeadLetterQueue


class CloseRunRetryOut(Document):
    month: str
    queued: int  # accounts sent to be issued again under their reserved numbers
    redelivered: int  # documents of delivery dead letters announced again (InvoiceIssued)
    failed: list[Literal["reissue", "redeliver"]] = Field(
        description="the parts of the retry that failed this time (each logged), the other done all the same:"
        " reissue (the failed and dead-lettered accounts sent again, their issue dead letters deleted),"
        " redeliver (the delivery dead letters re-driven). Both are safe to repeat: retry again. Empty when"
        " everything was done"
    )
