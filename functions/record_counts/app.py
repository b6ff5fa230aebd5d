"""Record-count API of the platform (HttpApi, AWS_IAM).

Triggered by: POST /v1/accounts/{account_id}/record-counts, POST /v1/record-counts
(batch of 1-100), GET /v1/accounts/{account_id}/usage/{month} and (operators)
GET /v1/churn-events?month=YYYY-MM.
Reads and writes: the BillingTable (profile gate and the month's usage item),
two conditional writes per report and no read. The usage adds one Query of the
month's 洗い替え episodes (``CHURN#<month>``, written by ChurnWatchFunction).
Emits: the ReportsRecorded and PeakRaised metrics.
Traces: Lambda's own (the template's active tracing records init and each
invocation), without the X-Ray SDK: loading it is about an eighth of this
function's cold start, and its DynamoDB subsegments would be 200 per batch of
100 reports. The ReportsRecorded metric and the logs' correlation id remain.

Cold start: a well-formed count report (single or batch), by far the most
common request, is answered on a plain path that imports neither pydantic nor
Powertools' event handler. Everything else (the GET routes, and any request
the plain path does not accept as it stands) goes to the typed resolver,
built on first use, which judges it and words the 400. Both answer a
report with the same code, so the bytes are the same either way
(tests/unit/test_count_plain_path.py holds them to it).
"""

# No ``from __future__ import annotations``: the typed routes are declared inside ``typed_app()``, and
# Powertools reads their annotations as objects, which a string would make it look up in module globals.

import functools
import json
import re

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from billing.dal.usage import UsageStore
from billing.errors import BillingError
from billing.observability import logger, metrics
from billing.schema import count_reports
from billing.schema.parsing import body_type, strict_json
from billing.settings import settings
from billing.usage.counts import CountReport


@functools.cache
def usage_store() -> UsageStore:
    return UsageStore(settings().table_name)


@functools.cache
def churn_store():
    from billing.dal.churn import ChurnStore

    return ChurnStore(settings().table_name)


# ---------------------------------------------------------------- the typed resolver (every route)
@functools.cache
def typed_app():
    """Every route, typed and validated by Powertools: the published contract (docs/openapi.json)."""
    from typing import Annotated

    from aws_lambda_powertools.event_handler.openapi.params import Body
    from pydantic import ValidationError

    from billing.errors import AccountCancelled, AccountNotFound, ContractNotStarted, MonthClosed
    from billing.http import create_resolver, documented
    from billing.schema.params import AccountIdPath, MonthPath, MonthQuery
    from billing.schema.parsing import invalid
    from billing.schema.platform import BatchIn, BatchOut, BatchReportIn, ChurnEventsOut, CountIn, CountOut, UsageOut
    from billing.tariff import load_tariff

    app = create_resolver()

    @app.post(
        "/v1/accounts/<account_id>/record-counts",
        summary="Report an account's record count",
        responses=documented(CountOut, AccountNotFound, MonthClosed, AccountCancelled, ContractNotStarted),
    )
    def record_count(account_id: AccountIdPath, report: Annotated[CountIn, Body()]):
        return _record(account_id, report.count, report.observed_at)

    @app.post(
        "/v1/record-counts",
        summary="Report many accounts' record counts (1-100); each report gets its own result",
        responses=documented(BatchOut),
    )
    def record_counts_batch(batch: Annotated[BatchIn, Body()]):
        return _record_batch([_typed_report(raw) for raw in batch.reports])

    def _typed_report(raw: object) -> tuple:
        try:
            report = BatchReportIn.model_validate(raw)
        except ValidationError as error:
            account_id = raw.get("account_id") if isinstance(raw, dict) else None
            return account_id if isinstance(account_id, str) else None, invalid(error, where="report")
        return report.account_id, report.count, report.observed_at

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

    return app


def __getattr__(name: str):
    """``app``, the typed resolver, as a module attribute (``tools.openapi`` reads it), built on first use."""
    if name == "app":
        return typed_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- what both paths do with a report
def _record(account_id: str, count: int, observed_at) -> dict:
    """One report; a refusal (``BillingError``) is raised for the caller to answer."""
    result = usage_store().record(CountReport.received(account_id, count, observed_at))
    _count([result])
    return result


def _record_batch(reports: list[tuple]) -> dict:
    """Each report ``(account_id, count, observed_at)``, or ``(account_id, error)`` for one already refused."""
    results = [_record_one(*report) for report in reports]
    _count([r for r in results if r["status"] == 200])
    return {"results": results}


def _record_one(account_id: str | None, *report) -> dict:
    """One report of a batch: its result or its error, never the batch's failure."""
    try:
        if isinstance(report[0], BillingError):
            raise report[0]
        count, observed_at = report
        result = usage_store().record(CountReport.received(account_id, count, observed_at))
        return {"account_id": account_id, "status": 200, **result}
    except BillingError as error:
        return {"account_id": account_id, "status": error.status, **error.as_json()}


def _count(recorded: list[dict]) -> None:
    """One value per request, not per report: a batch of 100 stays one metrics blob."""
    metrics.add_metric(name="ReportsRecorded", unit=MetricUnit.Count, value=len(recorded))
    metrics.add_metric(name="PeakRaised", unit=MetricUnit.Count, value=sum(r["raised"] for r in recorded))


# ---------------------------------------------------------------- the plain path (count reports only)
_SINGLE_PATH = re.compile(r"/v1/accounts/([A-Za-z0-9_-]{1,64})/record-counts")
_BATCH_PATH = "/v1/record-counts"


def plain_answer(event: dict) -> dict | None:
    """The response to a well-formed count report, as the typed resolver would give it; None for any other request.

    It declines before any write, so a declined request reaches the typed resolver untouched.
    """
    if event.get("requestContext", {}).get("stage") != "$default" or event.get("isBase64Encoded"):
        return None
    if event.get("requestContext", {}).get("http", {}).get("method") != "POST" or event.get("queryStringParameters"):
        return None
    headers = event.get("headers") or {}
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "") or ""
    try:
        if body_type(content_type) != "application/json":  # none at all included: the typed resolver's 400
            return None
    except BillingError:  # another charset: the typed resolver's 400
        return None
    path, text = event.get("rawPath") or "", event.get("body")
    single = _SINGLE_PATH.fullmatch(path)
    if not (single or path == _BATCH_PATH) or not text:
        return None
    try:
        body = strict_json(text)
    except BillingError:
        return None
    if single:
        report = count_reports.report(body)
        if report is None:
            return None
        try:
            return _response(200, _record(single.group(1), *report))
        except BillingError as error:
            logger.info("request refused", extra={"code": error.code, "reason": error.message})
            return _response(error.status, error.as_json())
    reports = count_reports.batch(body)
    return None if reports is None else _response(200, _record_batch(reports))


def _response(status: int, body: object) -> dict:
    """An HTTP API (payload 2.0) JSON response, byte for byte what Powertools builds for the same body."""
    return {
        "statusCode": status,
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    answer = plain_answer(event)
    return answer if answer is not None else typed_app().resolve(event, context)
