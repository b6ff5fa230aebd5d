"""Customer API: the change confirmation page that the confirmation email links to (Japanese HTML).

Triggered by: CustomerApi (HttpApi) with no authorizer; the emailed one-time
token is the credential:
- GET /change-requests/{change_request_id}?token=... shows each change
  (before → after) and a confirm button. It never applies anything: mail
  scanners open links.
- POST /change-requests/{change_request_id}/confirm with the form field
  ``token`` applies the change, as the platform's JSON confirm does.
Every answer, a refusal included, is a page sent with no-store, no-referrer
and a strict Content-Security-Policy; never JSON.
Reads: the change request and the account's contract (terms by month) in the BillingTable; the tariff.
Writes: on confirmation, the request (applied) and the change appended to the terms from its month, in one transaction.
Emits: nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Form, Query
from aws_lambda_powertools.logging import correlation_paths

from billing import months
from billing.contracts.accounts import AccountProfile
from billing.contracts.change_requests import ChangeRequest, change_rows
from billing.contracts.confirmation_page import HEADERS, applied_page, confirmation_page, error_page
from billing.dal import stores
from billing.errors import BillingError, InvalidRequest
from billing.http import create_page_resolver, form_value, query_value
from billing.observability import logger, tracer
from billing.schema.fields import CHANGE_REQUEST_ID_PATTERN
from billing.schema.params import ChangeRequestIdPath
from billing.tariff import load_tariff

CHANGE_REQUEST_ID = re.compile(CHANGE_REQUEST_ID_PATTERN)
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")  # what secrets.token_urlsafe makes, with room to spare
PAGE_RESPONSES = {
    200: {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
    **{
        status: {"description": f"a Japanese page: {why}", "content": {"text/html": {"schema": {"type": "string"}}}}
        for status, why in {
            400: "bad input, or a token that does not match",
            404: "no such change request",
            409: "already applied, or a change only an operator may approve",
            410: "the token is older than 7 days",
        }.items()
    },
}
# Declared for the published document only (the resolver validates nothing): each route reads the
# token itself, strictly (exactly one value, UTF-8), with query_value or form_value.
TOKEN_IN_QUERY = Query(..., description="the one-time token from the confirmation email")
TOKEN_IN_FORM = Form(..., description="the one-time token, from the page's hidden field")


def page(status: int, html: str) -> Response:
    return Response(status_code=status, headers=dict(HEADERS), body=html)


def refusal(error: BillingError | None) -> Response:
    return page(*error_page(error))


app = create_page_resolver(refusal)


def now() -> datetime:
    """The clock; tests move it to try the token's expiry."""
    return datetime.now(UTC)


def confirmable(change_request_id: str, token: str, moment: datetime) -> tuple[ChangeRequest, AccountProfile]:
    """The request that ``token`` may apply at ``moment``, and the terms it changes; refused otherwise."""
    if not CHANGE_REQUEST_ID.fullmatch(change_request_id):
        raise InvalidRequest("a change request id is 32 lowercase hex digits")
    if not TOKEN.fullmatch(token):
        raise InvalidRequest("the token is malformed")
    accounts, requests = stores.accounts(), stores.change_requests()
    request = requests.get(change_request_id)
    request.check_confirmation(token, moment)
    contract = accounts.get(request.account_id)
    return request, contract.terms_for(contract.first_open_month(request.effective_month or months.month_of(moment)))


@app.get(
    "/change-requests/<change_request_id>",
    summary="The change confirmation page (Japanese HTML): each change and a confirm button; applies nothing",
    responses=PAGE_RESPONSES,
)
def show_change(change_request_id: ChangeRequestIdPath, token: str = TOKEN_IN_QUERY):
    token = query_value(app, "token")
    request, profile = confirmable(change_request_id, token, now())
    return page(200, confirmation_page(request, change_rows(request.changes, profile), token))


@app.post(
    "/change-requests/<change_request_id>/confirm",
    summary="Apply a change from the confirmation page (form field token); answers a Japanese page",
    responses=PAGE_RESPONSES,
)
def confirm_from_page(change_request_id: ChangeRequestIdPath, token: str = TOKEN_IN_FORM):
    token = form_value(app, "token")
    moment = now()
    request, profile = confirmable(change_request_id, token, moment)
    requests = stores.change_requests()
    applied = requests.apply(request, lambda contract: contract.settle(request, moment, load_tariff()))
    logger.info("change confirmed from the page", extra={"change_request_id": change_request_id})
    return page(200, applied_page(applied, change_rows(request.changes, profile)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
