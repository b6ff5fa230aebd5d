"""Path and query parameters, typed like the body fields they mirror."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from billing.schema.fields import ACCOUNT_ID_PATTERN, CHANGE_REQUEST_ID_PATTERN, DOCUMENT_NUMBER_PATTERN, IsoDate, Month

AccountIdPath = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="1-64 of A-Z a-z 0-9 _ -")]
MonthPath = Annotated[Month, Path(description="YYYY-MM, a Tokyo month")]
ChangeRequestIdPath = Annotated[str, Path(pattern=CHANGE_REQUEST_ID_PATTERN, description="32 lowercase hex digits")]
OptionalMonthQuery = Annotated[Month | None, Query(description="YYYY-MM, a Tokyo month; by default the current one")]
MonthQuery = Annotated[Month, Query(description="YYYY-MM, a Tokyo month")]
DocumentNumberPath = Annotated[
    str, Path(pattern=DOCUMENT_NUMBER_PATTERN, description="INV-YYYYMM-NNNNNNN or CN-YYYYMM-NNNNNNN")
]
DatePath = Annotated[IsoDate, Path(description="YYYY-MM-DD")]
