"""The auth of each local HTTP API route, chosen from the template as API Gateway chooses it.

A route's authorizer is its event's ``Auth.Authorizer`` if set, otherwise its
API's ``Auth.DefaultAuthorizer``: ``AWS_IAM`` (SigV4, see ``local.sigv4``),
``NONE``, or the name of an entry under ``Auth.Authorizers``. An authorizer
either returns what API Gateway puts in ``requestContext.authorizer`` or raises
``Denied`` with the status and body API Gateway would answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from local import sigv4
from local.template import HttpApiSpec, Route, TemplateError

log = logging.getLogger("local.auth")


@dataclass(frozen=True)
class IncomingRequest:
    """What an authorizer may look at: the request exactly as received."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes


class Denied(Exception):
    def __init__(self, status: int, message: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.message = message
        self.reason = reason


class Authorizer(Protocol):
    def authorize(self, request: IncomingRequest) -> dict | None: ...


class NoAuth:
    def authorize(self, request: IncomingRequest) -> dict | None:
        return None


class IamAuthorizer:
    """AWS_IAM: a valid SigV4 signature, service ``execute-api``, made with a known local key."""

    def __init__(self, secrets: Mapping[str, str], region: str, account_id: str):
        self.secrets = dict(secrets)
        self.region = region
        self.account_id = account_id

    def authorize(self, request: IncomingRequest) -> dict:
        try:
            caller = sigv4.verify(
                request.method,
                request.raw_path,
                request.raw_query,
                request.headers,
                request.body,
                self.secrets,
                self.region,
            )
        except sigv4.SignatureError as error:
            raise Denied(403, "Forbidden", str(error)) from error
        user_id = f"AIDA{caller.access_key[-16:].upper()}"
        return {
            "iam": {
                "accessKey": caller.access_key,
                "accountId": self.account_id,
                "callerId": user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{self.account_id}:user/local",
                "userId": user_id,
            }
        }


def authorizer_for(route: Route, api: HttpApiSpec, iam: IamAuthorizer) -> Authorizer:
    name = route.authorizer or api.auth.get("DefaultAuthorizer") or "NONE"
    if name == "NONE":
        return NoAuth()
    if name == "AWS_IAM":
        return iam
    configured = (api.auth.get("Authorizers") or {}).get(name)
    if configured is None:
        raise TemplateError(
            f"{route.route_key} on {api.logical_id} names authorizer {name!r}, which the API does not define"
        )
    raise TemplateError(
        f"{route.route_key} on {api.logical_id} uses authorizer {name!r} "
        f"({', '.join(sorted(configured)) or 'no settings'}); the local stack does not serve this kind yet"
    )
