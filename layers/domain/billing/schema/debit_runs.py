"""The operator API's debit runs: what a run is asked with and what it answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.schema.fields import AccountId, Document, IsoDate


class DebitRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    debit_date: IsoDate = Field(description="the debit date to collect: a bank business day")


class SkippedOut(Document):
    account_id: AccountId
    reason: Literal["no_debit_account", "mandate_rejected"]


class DebitResultsOut(Document):
    debit_date: IsoDate
    paid: int = Field(description="records the bank debited (振替結果コード 0)")
    failed: int = Field(description="records that failed and were asked for by transfer (codes 1-4, 9 and others)")
    by_code: dict[str, int] = Field(description="records by 振替結果コード")
    amount_paid: int = Field(description="yen debited")


class DebitRunOut(Document):
    debit_date: IsoDate
    status: Literal["planning", "requested", "settled"] = Field(
        description="planning while the run reads the date's documents (file_url and sha256 null), requested once"
        " the request file is archived, settled once the bank's results are imported"
    )
    records: int = Field(description="data records in the request file: one per debited account")
    total: int = Field(description="yen requested")
    skipped: list[SkippedOut] = Field(description="accounts not debited; their documents were asked for by transfer")
    file_url: str | None = Field(description="the archived request file, presigned for at most 300 seconds")
    sha256: str | None = Field(description="the request file's sha256 (hex)")
    results: DebitResultsOut | None = Field(default=None, description="the imported results, once settled")
