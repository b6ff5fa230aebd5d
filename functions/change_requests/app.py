"""Contract changes that affect billing, for the platform (HttpApi, AWS_IAM).

Triggered by:
- POST /v1/accounts/{account_id}/change-requests: a pending change, and an
  email to the billing contact's current address (the one-time token, or for
  a company-name change a notice that an operator will review it);
- POST /v1/change-requests/{change_request_id}/confirm with the emailed token;
- POST /v1/change-requests/{change_request_id}/approve by an operator, for a
  company-name (legal-name) change.
Reads: the account's contract (terms history) and the change request in the BillingTable; the tariff.
Writes: the change request (with the token's sha256, never the token) and, on
confirmation or approval, the change appended to the account's terms from its
effective month (the first open month), both in one transaction.
Emits: the email, through SES, from NOTIFICATION_SENDER; it links to the
customer's confirmation page under CONFIRMATION_PAGE_URL (ChangeConfirmationFunction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from billing import months
from billing.contracts.change_requests import (
    approval_notice_email,
    check_effective_month,
    confirmation_email,
)
from billing.dal import stores
from billing.dal.mail import send_email
from billing.errors import (
    AccountNotFound,
    AlreadyApplied,
    ApprovalRequired,
    ChangeRequestNotFound,
    ConfirmationRequired,
    InvalidToken,
    MonthClosed,
    TokenExpired,
)
from billing.http import create_resolver, documented, json_response
from billing.observability import logger, tracer
from billing.schema.params import AccountIdPath, ChangeRequestIdPath
from billing.schema.platform import ApproveIn, ChangeRequestIn, ChangeRequestOut, ConfirmIn
from billing.settings import settings
from billing.tariff import load_tariff

app = create_resolver()


def now() -> datetime:
    """The clock; tests move it to try the token's expiry."""
    return datetime.now(UTC)


@app.post(
    "/v1/accounts/<account_id>/change-requests",
    summary="Request a change of the terms from a month on; the billing contact confirms it from an email",
    responses=documented(ChangeRequestOut, AccountNotFound, MonthClosed, status=201, description="requested"),
)
def request_change(account_id: AccountIdPath, body: Annotated[ChangeRequestIn, Body()]):
    accounts, requests = stores.accounts(), stores.change_requests()
    moment = now()
    month = body.effective_month or months.month_of(moment)
    contract = accounts.get(account_id)
    check_effective_month(body.effective_month, contract.start_month)
    profile = contract.terms_for_change(month)
    request, token = body.as_request(profile, moment)
    changed = request.changes.apply_to(profile)
    load_tariff().check_terms(month, changed.plan, changed.options)
    requests.create(request)
    if token is None:
        email = approval_notice_email(request, profile)
    else:
        email = confirmation_email(request, profile, token, settings().confirmation_page_url)
    send_email(settings().notification_sender, email)
    logger.info("change requested", extra={"change_request_id": request.change_request_id, "status": request.status})
    return json_response(201, request.as_json())


@app.post(
    "/v1/change-requests/<change_request_id>/confirm",
    summary="Apply a change with the token from the confirmation email",
    responses=documented(
        ChangeRequestOut, ChangeRequestNotFound, InvalidToken, TokenExpired, AlreadyApplied, ApprovalRequired
    ),
)
def confirm_change(change_request_id: ChangeRequestIdPath, body: Annotated[ConfirmIn, Body()]):
    requests = stores.change_requests()
    request = requests.get(change_request_id)
    moment = now()
    request.check_confirmation(body.token, moment)
    return requests.apply(request, lambda contract: contract.settle(request, moment, load_tariff())).as_json()


@app.post(
    "/v1/change-requests/<change_request_id>/approve",
    summary="Approve a legal-name change, with who approved it",
    responses=documented(ChangeRequestOut, ChangeRequestNotFound, AlreadyApplied, ConfirmationRequired),
)
def approve_change(change_request_id: ChangeRequestIdPath, body: Annotated[ApproveIn, Body()]):
    requests = stores.change_requests()
    request = requests.get(change_request_id)
    request.check_approval()
    moment, principal = now(), _principal()
    applied = requests.apply(
        request, lambda contract: contract.settle(request, moment, load_tariff(), body.approved_by, principal)
    )
    return applied.as_json()


def _principal() -> str | None:
    """Who signed the call (the operator's IAM principal), as API Gateway reports it."""
    iam = (app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}).get("iam") or {}
    return iam.get("userArn") or iam.get("userId")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
