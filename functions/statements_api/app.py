"""Customer API: a customer's own statements, as JSON, PDF links and a page.

Triggered by: CustomerApi (HttpApi, Cognito JWT authorizer):
GET /v1/statements, GET /v1/statements/{month}, GET /v1/statements/{month}/pdf,
GET /v1/statements/{month}/einvoice, GET /v1/usage/current and GET /statements
(HTML). The account comes only from the token's ``custom:account_id`` claim,
never from the URL or the query string.
Reads: the caller's invoices in the BillingTable, and for the current Tokyo
month its profile and usage item (two GetItems, and a Query only when the
month's opening count was never recorded); the estimate is priced from the
tariff bundled with the layer, with no AWS call. Presigns the PDF in the
InvoiceBucket for 300 seconds.
Writes and emits: nothing.
"""

from __future__ import annotations

import re
from datetime import datetime

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from billing import months
from billing.dal import stores
from billing.delivery import statements
from billing.delivery.statement_page import render_page
from billing.errors import AccountNotFound, NotFound
from billing.http import create_resolver, documented
from billing.observability import logger, tracer
from billing.schema.customer import CurrentUsageOut, StatementDetailOut, StatementsOut
from billing.schema.fields import ACCOUNT_ID_PATTERN
from billing.schema.params import MonthPath
from billing.tariff import load_tariff

# The page has no scripts and no external assets: forbid anything else.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"

app = create_resolver()
ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)


def caller_account() -> str:
    """The caller's account: the token's claim, never the URL (the resolver refuses query parameters)."""
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    account_id = claims.get("custom:account_id")
    if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
        raise NotFound("no statements for this sign-in")
    return account_id


def caller_records() -> list[dict]:
    """The caller's invoices."""
    return stores.invoices().for_account(caller_account())


def current_usage(account_id: str) -> dict:
    """The account's current Tokyo month so far: the usage's own reads, and the estimate from the cached tariff
    (no AWS call). Raises AccountNotFound."""
    report = stores.usage_alerts().month_report(account_id, current_month())
    return report.current_json(load_tariff())


def today():
    return datetime.now(months.TOKYO).date()


def current_month() -> str:
    """The current Tokyo month, from ``today`` (one clock for the whole module)."""
    return today().strftime("%Y-%m")


@app.get(
    "/v1/statements",
    summary="The caller's statements, newest first",
    responses=documented(StatementsOut),
)
def list_statements():
    return {"statements": [statements.summary(r, today()) for r in statements.newest_first(caller_records(), today())]}


@app.get(
    "/v1/statements/<month>",
    summary="One month's statement with its lines and usage",
    responses=documented(StatementDetailOut, NotFound),
)
def get_statement(month: MonthPath):
    records = caller_records()
    return statements.detail(statements.the_one(records, month, today()), records, today())


@app.get(
    "/v1/usage/current",
    summary="The caller's current Tokyo month so far: peak, bracket, estimate and daily highs",
    responses=documented(CurrentUsageOut),  # 404 not_found (no account for the sign-in): every route documents it
)
def get_current_usage():
    account_id = caller_account()
    try:
        return current_usage(account_id)
    except AccountNotFound:
        raise NotFound("no usage for this sign-in") from None


# A redirect: no body and no Content-Type, only where to go, and that the link must not be cached.
REDIRECT = documented(
    None,
    NotFound,
    status=302,
    media_type=None,
    description="a redirect to the archived file (no body)",
    headers={"Location": "a presigned S3 URL that expires in 300 seconds or less", "Cache-Control": "no-store"},
)


@app.get(
    "/v1/statements/<month>/pdf",
    summary="A short-lived (300 s) link to the month's PDF",
    responses=REDIRECT,
)
def get_statement_pdf(month: MonthPath):
    return redirect_to_file(month, "pdf_key", "PDF")


@app.get(
    "/v1/statements/<month>/einvoice",
    summary="A short-lived (300 s) link to the month's e-invoice (JP PINT, UBL 2.1 XML)",
    responses=REDIRECT,
)
def get_statement_einvoice(month: MonthPath):
    return redirect_to_file(month, "einvoice_key", "e-invoice")


def redirect_to_file(month: str, key_field: str, what: str) -> Response:
    """302 to a short-lived link to one of the month's archived files."""
    record = statements.the_one(caller_records(), month, today())
    if not record.get(key_field):
        raise NotFound(f"the {what} for {month} is not ready")
    url = stores.archive().presigned_url(record[key_field])
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@app.get(
    "/statements",
    summary="The statements page (Japanese HTML)",
    responses=documented(None, status=200, description="the page", media_type="text/html"),
)
def statements_page():
    account_id = caller_account()
    everything = stores.invoices().for_account(account_id)
    records = statements.newest_first(everything, today())
    # A page opened in a browser sends no bearer header on a click, so each
    # PDF link is already a presigned URL (300 s); reloading the page renews them.
    archive = stores.archive()
    links = {r["month"]: archive.presigned_url(r["pdf_key"]) for r in records if r.get("pdf_key")}
    xml_links = {r["month"]: archive.presigned_url(r["einvoice_key"]) for r in records if r.get("einvoice_key")}
    return Response(
        status_code=200,
        content_type=content_types.TEXT_HTML + "; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": PAGE_POLICY,
        },
        body=render_page(
            [statements.detail(r, everything, today()) | statements.pay_to(r) for r in records],
            links,
            xml_links,
            current=page_usage(account_id),
        ),
    )


def page_usage(account_id: str) -> dict | None:
    """The page's 今月のご利用状況 card; none for a sign-in whose account has no profile."""
    try:
        return current_usage(account_id)
    except AccountNotFound:
        return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
