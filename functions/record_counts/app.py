"""Record-count API of the platform (HttpApi, AWS_IAM).

Triggered by: POST /v1/accounts/{account_id}/record-counts, POST /v1/record-counts
(batch of 1-100), GET /v1/accounts/{account_id}/usage/{month} and (operators)
GET /v1/churn-events?month=YYYY-MM.
Reads and writes: the BillingTable (profile gate and the month's usage item),
two conditional writes per report and no read. The usage adds one Query of the
month's 洗い替え episodes (``CHURN#<month>``, written by ChurnWatchFunction).
Emits: the ReportsRecorded and PeakRaised metrics.
"""

from __future__ import annotations

import functools
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from billing.dal.churn import ChurnStore
from billing.dal.usage import UsageStore
from billing.errors import AccountCancelled, AccountNotFound, BillingError, ContractNotStarted, MonthClosed
from billing.http import create_resolver, documented
from billing.invoicing.tariff import load_tariff
from billing.observability import logger, metrics, tracer
from billing.schema.params import AccountIdPath, MonthPath, MonthQuery
from billing.schema.parsing import invalid
from billing.schema.platform import (
    BatchIn,
    BatchOut,
    BatchReportIn,
    ChurnEventsOut,
    CountIn,
    CountOut,
    UsageOut,
)
from billing.settings import settings
from billing.usage.counts import CountReport

app = create_resolver()


@functools.cache
def usage_store() -> UsageStore:
    return UsageStore(settings().table_name)


@functools.cache
def churn_store() -> ChurnStore:
    return ChurnStore(settings().table_name)


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
    summary="An account's month: peak and its bracket, opening and last count, daily highs, suspected 洗い替え",
    responses=documented(UsageOut, AccountNotFound),
)
def get_usage(account_id: AccountIdPath, month: MonthPath):
    usage = usage_store().month_usage(account_id, month)
    return usage.as_json(load_tariff(), churn_store().of_account(account_id, month))


@app.get(
    "/v1/churn-events",
    summary="Every account's suspected 洗い替え episodes of a month (the month of the drop); for operators",
    responses=documented(ChurnEventsOut),
)
def list_churn_events(month: MonthQuery):
    episodes = churn_store().of_month(month)
    return {"month": month, "churn_events": [{"account_id": e.account_id, **e.as_json()} for e in episodes]}


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
