"""Record-count API of the platform (HttpApi, AWS_IAM).

Triggered by: POST /v1/accounts/{account_id}/record-counts, POST /v1/record-counts
(batch of 1-100) and GET /v1/accounts/{account_id}/usage/{month}.
Reads and writes: the BillingTable (profile gate and the month's usage item),
two conditional writes per report and no read.
Emits: the ReportsRecorded and PeakRaised metrics.
"""

from __future__ import annotations

import functools
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from billing.counts import CountReport
from billing.dal.usage import UsageStore
from billing.errors import AccountCancelled, AccountNotFound, BillingError, ContractNotStarted, MonthClosed
from billing.http import create_resolver, documented
from billing.observability import logger, metrics, tracer
from billing.schema.params import AccountIdPath, MonthPath
from billing.schema.parsing import invalid
from billing.schema.platform import BatchIn, BatchOut, BatchReportIn, CountIn, CountOut, UsageOut
from billing.settings import settings

app = create_resolver()


@functools.cache
def usage_store() -> UsageStore:
    return UsageStore(settings().table_name)


@app.post(
    "/v1/accounts/<account_id>/record-counts",
    summary="Report an account's record count",
    responses=documented(CountOut, AccountNotFound, MonthClosed, AccountCancelled, ContractNotStarted),
)
def record_count(account_id: AccountIdPath, report: Annotated[CountIn, Body()]):
    result = usage_store().record(CountReport.received(account_id, report.count, report.observed_at))
    _count([result])
    return result


@app.post(
    "/v1/record-counts",
    summary="Report many accounts' record counts (1-100); each report gets its own result",
    responses=documented(BatchOut),
)
def record_counts_batch(batch: Annotated[BatchIn, Body()]):
    results = [_record_one(raw) for raw in batch.reports]
    _count([r for r in results if r["status"] == 200])
    return {"results": results}


@app.get(
    "/v1/accounts/<account_id>/usage/<month>",
    summary="An account's month: peak, opening and last count, daily highs",
    responses=documented(UsageOut, AccountNotFound),
)
def get_usage(account_id: AccountIdPath, month: MonthPath):
    return usage_store().month_usage(account_id, month).as_json()


def _count(recorded: list[dict]) -> None:
    """One value per request, not per report: a batch of 100 stays one metrics blob."""
    metrics.add_metric(name="ReportsRecorded", unit=MetricUnit.Count, value=len(recorded))
    metrics.add_metric(name="PeakRaised", unit=MetricUnit.Count, value=sum(r["raised"] for r in recorded))


def _record_one(raw: object) -> dict:
    """One report of a batch: its result or its error, never the batch's failure."""
    account_id = raw.get("account_id") if isinstance(raw, dict) else None
    try:
        try:
            report = BatchReportIn.model_validate(raw)
        except ValidationError as error:
            raise invalid(error, where="report") from None
        result = usage_store().record(CountReport.received(report.account_id, report.count, report.observed_at))
        return {"account_id": report.account_id, "status": 200, **result}
    except BillingError as error:
        return {
            "account_id": account_id if isinstance(account_id, str) else None,
            "status": error.status,
            **error.as_json(),
        }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
