"""Account billing profiles for the platform (HttpApi, AWS_IAM).

Triggered by: PUT and GET /v1/accounts/{account_id}.
Reads: the tariff shipped in the domain layer (plans and options must exist).
Writes: the profile item in the BillingTable (201 when created, 200 when replaced).
Emits: nothing.
"""

from __future__ import annotations

import functools
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from billing.accounts import AccountProfile
from billing.dal.accounts import AccountStore
from billing.errors import AccountNotFound
from billing.http import create_resolver, documented, json_response
from billing.observability import logger, tracer
from billing.schema.params import AccountIdPath
from billing.schema.platform import AccountIn, AccountOut
from billing.settings import settings
from billing.tariff import load_tariff

app = create_resolver()


@functools.cache
def account_store() -> AccountStore:
    return AccountStore(settings().table_name)


@app.put(
    "/v1/accounts/<account_id>",
    summary="Create an account's billing profile",
    responses={**documented(AccountOut, status=201, description="created"), **documented(AccountOut)},
)
def put_account(account_id: AccountIdPath, body: Annotated[AccountIn, Body()]):
    profile = AccountProfile.create(account_id, body, load_tariff())
    created = account_store().put(profile)
    return json_response(201 if created else 200, profile.as_json())


@app.get(
    "/v1/accounts/<account_id>",
    summary="An account's billing profile",
    responses=documented(AccountOut, AccountNotFound),
)
def get_account(account_id: AccountIdPath):
    return account_store().get(account_id).as_json()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
