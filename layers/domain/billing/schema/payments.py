"""The operator API's payments: bank files, the payments they bring, allocations, and the receivables ageing."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from billing.schema.desk import IssueDay
from billing.schema.fields import AccountId, Document, IsoDate, Payload

PAYMENT_ID_PATTERN = r"^[0-9]{4}-[0-9]{3}-[0-9]{8,11}-[0-9]{1,10}-[0-9]{8}-[0-9]{1,12}$"

PaymentIdPath = Annotated[
    str,
    Path(
        pattern=PAYMENT_ID_PATTERN,
        description="bank-branch-(type)(account)-照会番号-勘定日(YYYYMMDD)-amount, as GET /v1/payments lists it",
    ),
]
PaymentStatusQuery = Annotated[
    Literal["unmatched", "matched", "all"],
    Query(description="unmatched: the review queue; matched: allocated to an account; all: every payment"),
]
ReceivedFromQuery = Annotated[IssueDay, Query(description="YYYY-MM-DD, first 勘定日 (inclusive); required")]
ReceivedToQuery = Annotated[
    IssueDay,
    Query(description="YYYY-MM-DD, last 勘定日 (inclusive); required; at most 366 days after received_from"),
]
AsOfQuery = Annotated[IssueDay | None, Query(description="YYYY-MM-DD; defaults to Tokyo's today")]
AgeingFormatQuery = Annotated[
    Literal["json", "csv"], Query(description="csv: the same rows and a totals row, UTF-8 with BOM")
]


class BankStatementOut(Document):
    imported: int = Field(description="payments recorded from this file")
    duplicates: int = Field(description="records imported before (from this file or another): nothing changed")
    matched: int = Field(description="payments allocated to an account (by customer number or payer name)")
    unmatched: int = Field(description="payments waiting for an operator: GET /v1/payments?status=unmatched")
    cancelled: int = Field(description="cancellation records (取消区分 1) that undid their payment")
    amount: int = Field(description="yen of the payments imported")


class BankAllocationOut(Document):
    invoice_number: str
    amount: int


class BankPaymentOut(Document):
    payment_id: str
    received_on: IsoDate = Field(description="勘定日")
    amount: int
    payer_name: str = Field(description="振込依頼人名, as the bank wrote it")
    payer_code: str | None = Field(description="振込依頼人コード, null when none was given")
    status: Literal["unmatched", "matched", "cancelled"]
    account_id: str | None
    allocations: list[BankAllocationOut]


class BankPaymentsOut(Document):
    payments: list[BankPaymentOut]
    next_token: str | None


class AllocationIn(Payload):
    account_id: AccountId


class AgeingTotalsOut(Document):
    not_due: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    days_over_90: int
    credit_balance: int
    total: int = Field(description="the sum of the balances (credit is shown beside, not netted)")


class AgeingRowOut(AgeingTotalsOut):
    account_id: str
    counterparty: str


class ReceivablesOut(Document):
    as_of: IsoDate
    accounts: list[AgeingRowOut]
    totals: AgeingTotalsOut
