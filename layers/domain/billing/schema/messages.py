"""The messages the project sends itself: SQS bodies and EventBridge details.

Each is declared once; the producer builds it with the model and the consumer
parses it with the same model (``BatchProcessor(model=...)`` for queues).

Work that flows on carries a ``correlation_id``: the id of the run or request
that started it (``close/<month>/<request id>`` for the scheduled close, the
API request id for an operator's retry or a correction). Each consumer puts
it on its log lines, so one invoice can be followed from the close through
issue, delivery and print. It is optional, so a message sent before it
existed still parses.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from billing.invoicing.announcements import InvoiceIssued
from billing.schema.fields import AccountId, IsoDate, Month
from billing.vocabulary import DeliveryMethod, DocumentKind, PaymentMethod

CorrelationId = Annotated[str, Field(min_length=1, max_length=256)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict:
        return self.model_dump(mode="json")


class CloseMonthInput(Message):
    """The schedule's input: empty closes the previous Tokyo month."""

    month: Month | None = None


class DeliverySweepInput(Message):
    """The delivery sweep's input: empty waits the default grace; ``grace_seconds`` waits that long instead
    (an operator, or a test, sweeping now)."""

    grace_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None


class AccountPageMessage(Message):
    """AccountPagesQueue: one page of one shard of the accounts to close."""

    month: Month
    shard: Annotated[str, Field(min_length=1, max_length=16)]
    cursor: dict | None = None
    correlation_id: CorrelationId | None = None


class IssueInvoiceMessage(Message):
    """IssueInvoiceQueue: one account to invoice under the number the close reserved for it."""

    month: Month
    account_id: AccountId
    sequence: Annotated[int, Field(ge=1)]
    retry: bool = False  # sent by an operator's retry: once issued, the account's failure record goes
    correlation_id: CorrelationId | None = None


class InvoiceIssuedDetail(Message):
    """``InvoiceIssued`` on the invoicing bus: what was issued, for delivery and for anyone listening.

    The published form of ``billing.invoicing.announcements.InvoiceIssued``, which builds it.
    """

    invoice_number: str
    account_id: AccountId
    month: Month
    issued_on: IsoDate
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    due_on: IsoDate | None
    debit_on: IsoDate | None
    total: int
    tax: int
    pdf_key: str
    pdf_sha256: str
    kind: DocumentKind = DocumentKind.INVOICE  # an invoice, a correction or a return invoice
    replaces: str | None = None  # the document a correction replaces, or a return invoice returns against
    correlation_id: CorrelationId | None = None  # the close run or request that issued it
    # What the web notice says beyond the above, as issued, so delivery reads nothing (None on events from
    # before they carried it: delivery then reads the record).
    recipient_line: str | None = None  # 宛名
    email: str | None = None  # the billing contact's address, as it stood at issue
    issuer_name: str | None = None

    def as_issued(self) -> InvoiceIssued:
        """The domain's announcement (``billing.invoicing.announcements``): the same fields, as parsed."""
        return InvoiceIssued(**dict(self))


class PrintRunInput(Message):
    """The print schedule's input: empty plans today's (Tokyo) print run; a date re-runs that day's."""

    date: IsoDate | None = None


class PrintRunMessage(Message):
    """PrintRunQueue: plan the rest of that day's print run (the planner hands it on after each share)."""

    date: IsoDate


class PrintBatchMessage(Message):
    """PrintBatchQueue: write recorded batch ``batch`` of print day ``date``, its letters posted on ``posting_on``."""

    date: IsoDate
    batch: Annotated[int, Field(ge=1, le=9999)]
    posting_on: IsoDate


class DebitRunInput(Message):
    """The debit-run schedule's input: empty makes the run due today (``DebitLeadBusinessDays`` before its date);
    ``debit_date`` names the run; ``date`` runs the schedule as on that day (as every daily schedule takes it)."""

    debit_date: IsoDate | None = None
    date: IsoDate | None = None


class DebitRunPageMessage(Message):
    """One page of a debit run's documents: its date, the account shard, where the page starts."""

    debit_date: IsoDate
    shard: Annotated[str, Field(min_length=1, max_length=16)]
    cursor: dict | None = None


class DebitResultMessage(Message):
    """The bank's result for one account of a debit run, with the account's part of the run
    (``billing.payments.debit_runs.Part.as_json``), to apply on its own without reading it again."""

    debit_date: IsoDate
    code: Annotated[str, Field(min_length=1, max_length=1)]
    imported_on: IsoDate
    part: dict


class BankCreditPageMessage(Message):
    """One page of a bank file's records (``billing.payments.bank_credits.CreditPage.as_json``)."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    page: Annotated[int, Field(ge=0)]
    credits: list[dict]


class ReminderRunInput(Message):
    """The reminder schedule's input: empty runs as on Tokyo's today; ``date`` runs as on that day."""

    date: IsoDate | None = None


class ReminderPageMessage(Message):
    """One page of a reminder run: the run's day, the ``pay_by`` date, the account shard, where the page starts."""

    today: IsoDate
    pay_by: IsoDate
    shard: Annotated[str, Field(min_length=1, max_length=16)]
    cursor: dict | None = None


class InvoiceOverdueDetail(Message):
    """``InvoiceOverdue``: the first reminder of a document went out (its balance is past ``pay_by``)."""

    account_id: AccountId
    invoice_number: str
    pay_by: IsoDate
    balance: int
    reminded_on: IsoDate


class InvoicePaidDetail(Message):
    """``InvoicePaid``: a document's balance reached 0."""

    account_id: AccountId
    invoice_number: str
    received_on: IsoDate
    method: str


class PaymentFailedDetail(Message):
    """``PaymentFailed``: a debit did not go through; the customer was asked to transfer by ``pay_by``."""

    account_id: AccountId
    debit_date: IsoDate
    result_code: str
    invoice_numbers: list[str]
    amount: int
    pay_by: IsoDate
