"""Accounts: billing profiles for the platform, cancellations for operators (HttpApi, AWS_IAM).

Triggered by:
- PUT /v1/accounts/{account_id}: creates a profile (201); the same body again is a safe retry (200); other terms
  are 409 ``change_request_required`` (changes go through change requests);
- GET /v1/accounts/{account_id}[?month=YYYY-MM]: the terms in force for that month (by default the current Tokyo
  month), the contract's end, and the changes scheduled for later months;
- POST and DELETE /v1/accounts/{account_id}/cancellation (operator): record a cancellation under the contract's
  rules, or withdraw it while its end month is open.
Reads: the profile item in the BillingTable; the tariff shipped in the domain layer (plans, options, minimum terms).
Writes: the profile item (conditional put on creation; conditional updates for a cancellation).
Emits: nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from billing import months
from billing.contracts.cancellation import Cancellation
from billing.dal import stores
from billing.errors import (
    AccountNotFound,
    AlreadyCancelled,
    CancellationTooEarly,
    ChangeRequestRequired,
    MonthClosed,
)
from billing.http import create_resolver, documented, json_response
from billing.observability import logger, tracer
from billing.schema.params import AccountIdPath, OptionalMonthQuery
from billing.schema.platform import AccountIn, AccountOut, CancellationIn, CancellationOut
from billing.tariff import load_tariff

app = create_resolver()


def now() -> datetime:
    """The clock; tests move it."""
    return datetime.now(UTC)


@app.put(
    "/v1/accounts/<account_id>",
    summary="Create an account's billing profile (the same body again is a safe retry)",
    responses={
        **documented(AccountOut, ChangeRequestRequired, MonthClosed, status=201, description="created"),
        **documented(AccountOut, description="the same body again: nothing changed"),
    },
)
def put_account(account_id: AccountIdPath, body: Annotated[AccountIn, Body()]):
    profile = body.as_profile(account_id, load_tariff())
    created, contract = stores.accounts().create(profile)
    if not created and contract.first != profile:
        raise ChangeRequestRequired(account_id)
    return json_response(201 if created else 200, contract.as_json(months.month_of(now())))


@app.get(
    "/v1/accounts/<account_id>",
    summary="An account's terms in force for a month, its contract end and its scheduled changes",
    responses=documented(AccountOut, AccountNotFound),
)
def get_account(account_id: AccountIdPath, month: OptionalMonthQuery = None):
    return stores.accounts().get(account_id).as_json(month or months.month_of(now()))


@app.post(
    "/v1/accounts/<account_id>/cancellation",
    summary="Cancel a contract under its rules (operator): the end is at the earliest M+1 and after the minimum term",
    responses={
        **documented(
            CancellationOut,
            AccountNotFound,
            CancellationTooEarly,
            AlreadyCancelled,
            MonthClosed,
            status=201,
            description="recorded",
        ),
        **documented(CancellationOut, description="the same cancellation again: nothing changed"),
    },
)
def cancel(account_id: AccountIdPath, body: Annotated[CancellationIn, Body()]):
    store = stores.accounts()
    contract = store.get(account_id)
    moment = now()
    plan = load_tariff().for_month(contract.start_month).plans.get(contract.first.plan)
    cancellation = Cancellation.decide(
        body.received_on,
        body.end_month,
        contract.first.contract_start,
        plan.minimum_term_months if plan else 1,
        months.day_of(moment),
    )
    created = store.cancel(account_id, cancellation)
    logger.info("cancellation", extra={"account_id": account_id, "end_month": cancellation.end_month, "new": created})
    return json_response(201 if created else 200, cancellation.as_json(account_id))


@app.delete(
    "/v1/accounts/<account_id>/cancellation",
    summary="Withdraw a cancellation while its end month is open (operator)",
    responses=documented(CancellationOut, AccountNotFound, MonthClosed, description="withdrawn"),
)
def withdraw(account_id: AccountIdPath):
    cancellation = stores.accounts().withdraw_cancellation(account_id)
    logger.info("cancellation withdrawn", extra={"account_id": account_id, "end_month": cancellation.end_month})
    return cancellation.as_json(account_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
