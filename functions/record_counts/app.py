"""Record-count API of the platform (HttpApi, AWS_IAM).

Triggered by: POST /v1/accounts/{account_id}/record-counts, POST /v1/record-counts
(batch of 1-100) and GET /v1/accounts/{account_id}/usage/{month}.
Reads and writes: the BillingTable (profile gate and the month's usage item),
two conditional writes per report and no read.
Emits: the ReportsRecorded and PeakRaised metrics.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from billing import months, validation
from billing.counts import CountReport
from billing.dal.usage import UsageStore
from billing.errors import BillingError, InvalidRequest
from billing.http import create_resolver, parse_json_object
from billing.observability import logger, metrics, tracer
from billing.settings import settings

MAX_BATCH = 100

app = create_resolver()


@functools.cache
def usage_store() -> UsageStore:
    return UsageStore(settings().table_name)


@app.post("/v1/accounts/<account_id>/record-counts")
def record_count(account_id: str):
    result = usage_store().record(CountReport.parse(account_id, parse_json_object(app)))
    _count([result])
    return result


@app.post("/v1/record-counts")
def record_counts_batch():
    body = validation.require_object(parse_json_object(app), {"reports"})
    reports = body["reports"]
    if not isinstance(reports, list) or not 1 <= len(reports) <= MAX_BATCH:
        raise InvalidRequest(f"reports must be an array of 1 to {MAX_BATCH} reports")
    results = [_record_one(raw) for raw in reports]
    _count([r for r in results if r["status"] == 200])
    return {"results": results}


@app.get("/v1/accounts/<account_id>/usage/<month>")
def get_usage(account_id: str, month: str):
    validation.account_id(account_id)
    if not months.is_month(month):
        raise InvalidRequest(f"month must be YYYY-MM, got {month!r}")
    return usage_store().month_usage(account_id, month).as_json()


def _count(recorded: list[dict]) -> None:
    """One value per request, not per report: a batch of 100 stays one metrics blob."""
    metrics.add_metric(name="ReportsRecorded", unit=MetricUnit.Count, value=len(recorded))
    metrics.add_metric(name="PeakRaised", unit=MetricUnit.Count, value=sum(r["raised"] for r in recorded))


def _record_one(raw: object) -> dict:
    """One report of a batch: its result or its error, never the batch's failure."""
    account_id = raw.get("account_id") if isinstance(raw, dict) else None
    try:
        return {"account_id": account_id, "status": 200, **usage_store().record(CountReport.parse_batch_item(raw))}
    except BillingError as error:
        return {"account_id": account_id, "status": error.status, **error.as_json()}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
