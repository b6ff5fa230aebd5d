"""Account billing profiles for the platform (HttpApi, AWS_IAM).

Triggered by: PUT and GET /v1/accounts/{account_id}.
Reads: the tariff shipped in the domain layer (plans and options must exist).
Writes: the profile item in the BillingTable (201 when created, 200 when replaced).
Emits: nothing.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.logging import correlation_paths

from billing import validation
from billing.accounts import AccountProfile
from billing.dal.accounts import AccountStore
from billing.http import create_resolver, json_response, parse_json_object
from billing.observability import logger, tracer
from billing.settings import settings
from billing.tariff import load_tariff

app = create_resolver()


@functools.cache
def account_store() -> AccountStore:
    return AccountStore(settings().table_name)


@app.put("/v1/accounts/<account_id>")
def put_account(account_id: str):
    profile = AccountProfile.parse(account_id, parse_json_object(app), load_tariff())
    created = account_store().put(profile)
    return json_response(201 if created else 200, profile.as_json())


@app.get("/v1/accounts/<account_id>")
def get_account(account_id: str):
    return account_store().get(validation.account_id(account_id)).as_json()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
