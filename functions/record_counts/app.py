"""Record-count API of the platform (HttpApi, AWS_IAM).

Triggered by: POST /v1/accounts/{account_id}/record-counts, POST /v1/record-counts
(batch of 1-100), GET /v1/accounts/{account_id}/usage/{month} and (operators)
GET /v1/churn-events?month=YYYY-MM.
Reads and writes: the BillingTable (profile gate and the month's usage item),
two conditional writes per report and no read. The usage reads the profile and
the usage item (its estimate and alerts come with them, and the tariff is the
process's) and one Query of the month's 洗い替え episodes (``CHURN#<month>``,
written by UsageWatchFunction).
Emits: the ReportsRecorded and PeakRaised metrics.
Traces: Lambda's own (the template's active tracing records init and each
invocation), without the X-Ray SDK: loading it is about an eighth of this
function's cold start, and its DynamoDB subsegments would be 200 per batch of
100 reports. The ReportsRecorded metric and the logs' correlation id remain.

Cold start: a well-formed count report (single or batch), by far the most
common request, is answered on a plain path that imports neither pydantic nor
Powertools' event handler. Everything else (the GET routes, and any request
the plain path does not accept as it stands) goes to the typed resolver,
built on first use, which judges it and words the 400.

One edge, not two: the plain path has no routing, body reading or response
code of its own. It matches the routes declared once below (``REPORT``,
``BATCH``), reads the body with the typed resolver's own checks
(``require_json``, ``strict_json``), answers with the typed resolver's
serializer and Powertools' header serializer (``billing.plain_http``), and
both paths record a report with the same code (``_record``), so the bytes are
the same either way (tests/unit/test_count_plain_path.py holds them to it).
Only the reading of a body's fields is written twice: ``count_reports``
accepts what the typed models accept and declines the rest to them.

Why not the typed resolver for every request: measured, it fails the bar.
Built on the first request, it makes the cold start 1.96x the botocore floor
(592 ms of CPU against 302 ms, medians of 5 alternating pairs:
``python -m benchmarks.cold_start --pairs 5 --typed-resolver``), against a
target of 1.25x; the plain path measured 1.21x in the same hour
(``--pairs 5``). Pydantic and Powertools' validation and OpenAPI models are
the difference, and no request that takes the plain path needs them.
"""

# No ``from __future__ import annotations``: the typed routes are declared inside ``typed_app()``, and
# Powertools reads their annotations as objects, which a string would make it look up in module globals.

import functools

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from billing import plain_http
from billing.dal import stores
from billing.dal.usage import UsageStore  # in the init phase (SnapStart's snapshot), not on the first report
from billing.errors import BillingError
from billing.observability import logger, metrics
from billing.schema import count_reports
from billing.usage.counts import CountReport

# The count routes, as both paths match them.
REPORT = "/v1/accounts/<account_id>/record-counts"
BATCH = "/v1/record-counts"


def usage_store() -> UsageStore:
    """The store both paths record with, the process's one (tests give the module a fake)."""
    return stores.usage()


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
        REPORT,
        summary="Report an account's record count",
        responses=documented(CountOut, AccountNotFound, MonthClosed, AccountCancelled, ContractNotStarted),
    )
    def record_count(account_id: AccountIdPath, report: Annotated[CountIn, Body()]):
        return _record(account_id, report.count, report.observed_at)

    @app.post(
        BATCH,
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
        summary="An account's month: peak, bracket and estimate, opening and last count, daily highs, alerts, 洗い替え",
        responses=documented(UsageOut, AccountNotFound),
    )
    def get_usage(account_id: AccountIdPath, month: MonthPath):
        report = stores.usage_alerts().month_report(account_id, month)
        return report.as_json(load_tariff(), stores.churn().of_account(account_id, month))

    @app.get(
        "/v1/churn-events",
        summary="Every account's suspected 洗い替え episodes of a month (the month of the drop); for operators",
        responses=documented(ChurnEventsOut),
    )
    def list_churn_events(month: MonthQuery):
        episodes = stores.churn().of_month(month)
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
def plain_answer(event: dict) -> dict | None:
    """The answer to a well-formed count report, the typed resolver's byte for byte; None for any other request.

    It declines before any write, so a declined request reaches the typed resolver untouched.
    """
    request = plain_http.json_request(event, "POST")
    if request is None:
        return None
    if request.path == BATCH:
        reports = count_reports.batch(request.body)
        return None if reports is None else plain_http.answer(200, _record_batch(reports))
    account_id = count_reports.account_id((plain_http.path_parameters(REPORT, request.path) or {}).get("account_id"))
    report = count_reports.report(request.body)
    if account_id is None or report is None:
        return None
    try:
        return plain_http.answer(200, _record(account_id, *report))
    except BillingError as error:
        return plain_http.refused(error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    answer = plain_answer(event)
    return answer if answer is not None else typed_app().resolve(event, context)
