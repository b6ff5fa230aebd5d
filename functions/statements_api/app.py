"""Customer API: a customer's own statements, as JSON, PDF links and a page.

Triggered by: CustomerApi (HttpApi, Cognito JWT authorizer):
GET /v1/statements, GET /v1/statements/{month}, GET /v1/statements/{month}/pdf
and GET /statements (HTML). The account comes only from the token's
``custom:account_id`` claim, never from the URL or the query string.
Reads: the caller's invoices in the BillingTable; presigns the PDF in the
InvoiceBucket for 300 seconds.
Writes and emits: nothing.
"""

from __future__ import annotations

import functools
from datetime import datetime

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from billing import months, statements, validation
from billing.dal.archive import InvoiceArchive
from billing.dal.invoices import InvoiceStore
from billing.errors import InvalidRequest, NotFound
from billing.http import create_resolver
from billing.observability import logger, tracer
from billing.settings import settings
from billing.statement_page import render_page

# The page has no scripts and no external assets: forbid anything else.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"

app = create_resolver()


@functools.cache
def invoice_store() -> InvoiceStore:
    return InvoiceStore(settings().table_name)


@functools.cache
def archive() -> InvoiceArchive:
    return InvoiceArchive(settings().invoice_bucket)


def caller_records() -> list[dict]:
    """The caller's invoices. The account is the token's; query parameters are refused."""
    event = app.current_event
    if event.query_string_parameters:
        raise InvalidRequest("this API takes no query parameters; the account comes from your sign-in")
    claims = event.request_context.authorizer.jwt_claim or {}
    account_id = claims.get("custom:account_id")
    if not account_id or not validation.ACCOUNT_ID.match(str(account_id)):
        raise NotFound("no statements for this sign-in")
    return invoice_store().for_account(account_id)


def today():
    return datetime.now(months.TOKYO).date()


@app.get("/v1/statements")
def list_statements():
    return {"statements": [statements.summary(r) for r in statements.newest_first(caller_records(), today())]}


@app.get("/v1/statements/<month>")
def get_statement(month: str):
    month = statements.checked_month(month)
    return statements.detail(statements.the_one(caller_records(), month, today()))


@app.get("/v1/statements/<month>/pdf")
def get_statement_pdf(month: str):
    record = statements.the_one(caller_records(), statements.checked_month(month), today())
    if not record.get("pdf_key"):
        raise NotFound(f"the PDF for {month} is not ready")
    url = archive().presigned_url(record["pdf_key"])
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@app.get("/statements")
def statements_page():
    records = statements.newest_first(caller_records(), today())
    # A page opened in a browser sends no bearer header on a click, so each
    # PDF link is already a presigned URL (300 s); reloading the page renews them.
    links = {r["month"]: archive().presigned_url(r["pdf_key"]) for r in records if r.get("pdf_key")}
    return Response(
        status_code=200,
        content_type=content_types.TEXT_HTML + "; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": PAGE_POLICY,
        },
        body=render_page([statements.detail(r) for r in records], links),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
