"""Customer tokens for the local stack's JWT routes: ``python -m local token <account_id>``.

The template's JWT authorizer names its issuer (a Cognito user pool) and its
audience (the pool's app client). The local stack creates both on the AWS
endpoint, so a token is made the way a customer would get one: a user with
the account's ``custom:account_id`` attribute signs in, and the ID token the
pool returns is what the customer API accepts.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from local.resources import USER_POOL, USER_POOL_CLIENT
from local.template import Resolver, Template, TemplateError

ACCOUNT_CLAIM = "custom:account_id"  # the account comes from this claim, never from the URL


def jwt_issuers(template: Template, resolver: Resolver) -> list[tuple[str, str]]:
    """(user pool id, app client id) for every JWT authorizer whose issuer is a user pool of this template."""
    physical = resolver.physical
    pairs = []
    for api in template.http_apis().values():
        for authorizer in (api.auth.get("Authorizers") or {}).values():
            if "JwtConfiguration" not in authorizer:
                continue
            config = resolver.resolve(authorizer["JwtConfiguration"])
            pools = [
                item.ref
                for item in physical.values()
                if item.type == USER_POOL and item.attributes.get("ProviderURL") == config["issuer"]
            ]
            clients = [
                item.ref
                for item in physical.values()
                if item.type == USER_POOL_CLIENT and item.ref in (config.get("audience") or [])
            ]
            if pools and clients:
                pairs.append((pools[0], clients[0]))
    return pairs


def customer_token(template: Template, resolver: Resolver, cognito: Any, account_id: str) -> str:
    """An ID token for a customer user of ``account_id`` (created on first use)."""
    pairs = jwt_issuers(template, resolver)
    if not pairs:
        raise TemplateError("no JWT authorizer of the template has a Cognito user pool of the template as issuer")
    pool_id, client_id = pairs[0]
    username = f"customer+{account_id}@example.com"
    password = "Aa1!" + secrets.token_urlsafe(16)
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": username},
                {"Name": "email_verified", "Value": "true"},
                {"Name": ACCOUNT_CLAIM, "Value": account_id},
            ],
            MessageAction="SUPPRESS",
        )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return result["AuthenticationResult"]["IdToken"]
