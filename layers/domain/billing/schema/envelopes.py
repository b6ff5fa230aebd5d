"""How the messages of ``billing.schema.messages`` arrive: an SQS record or an EventBridge event.

``BatchProcessor(model=...)`` parses each record with these, so a malformed
body fails that record alone (and, retried, ends in the queue's DLQ).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import Json

from billing.schema.messages import (
    AccountPageMessage,
    BankCreditPageMessage,
    DebitResultMessage,
    DebitRunPageMessage,
    InvoiceIssuedDetail,
    IssueInvoiceMessage,
    PrintBatchMessage,
    PrintRunMessage,
    ReminderPageMessage,
)


class AccountPageRecord(SqsRecordModel):
    body: Json[AccountPageMessage]


class IssueInvoiceRecord(SqsRecordModel):
    body: Json[IssueInvoiceMessage]


class PrintRunRecord(SqsRecordModel):
    body: Json[PrintRunMessage]


class PrintBatchRecord(SqsRecordModel):
    body: Json[PrintBatchMessage]


class DebitRunPageRecord(SqsRecordModel):
    body: Json[DebitRunPageMessage]


class DebitResultRecord(SqsRecordModel):
    body: Json[DebitResultMessage]


class ReminderPageRecord(SqsRecordModel):
    body: Json[ReminderPageMessage]


class BankCreditPageRecord(SqsRecordModel):
    body: Json[BankCreditPageMessage]


class InvoiceIssuedEvent(EventBridgeModel):
    detail: InvoiceIssuedDetail
