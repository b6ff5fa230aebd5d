"""The auth of each local HTTP API route, chosen from the template as API Gateway chooses it.

A route's authorizer is its event's ``Auth.Authorizer`` if set, otherwise its
API's ``Auth.DefaultAuthorizer``: ``AWS_IAM`` (SigV4, see ``local.sigv4``),
``NONE``, or the name of an entry under ``Auth.Authorizers``. An authorizer
either returns what API Gateway puts in ``requestContext.authorizer`` or raises
``Denied`` with the status and body API Gateway would answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import jwt

from local import sigv4
from local.iam_policy import Decision, Policy
from local.template import HttpApiSpec, Resolver, Route, TemplateError

log = logging.getLogger("local.auth")

STAGE = "$default"  # the stage SAM gives an HttpApi that names none


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


@dataclass(frozen=True)
class IamPrincipal:
    """One local IAM caller: its key pair and the policy its requests are held to."""

    name: str  # the IAM user's name, e.g. platform or operator
    access_key: str
    secret_key: str
    policy: Policy


class IamAuthorizer:
    """AWS_IAM: a valid SigV4 signature (service ``execute-api``) by a known principal whose policy allows the route.

    As API Gateway does, the request is the action ``execute-api:Invoke`` on
    ``arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path as requested>``;
    anything but an Allow (an explicit Deny, or no statement that applies) is
    403 Forbidden, like a bad signature.
    """

    ACTION = "execute-api:Invoke"

    def __init__(self, principals: Iterable[IamPrincipal], region: str, account_id: str, api_id: str = "*"):
        self.principals = {principal.access_key: principal for principal in principals}
        self.region = region
        self.account_id = account_id
        self.api_id = api_id

    def for_api(self, api_id: str) -> IamAuthorizer:
        """The same principals, for the routes of one API (the API id is part of each route's ARN)."""
        return IamAuthorizer(self.principals.values(), self.region, self.account_id, api_id)

    def route_arn(self, request: IncomingRequest) -> str:
        api = f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}"
        return f"{api}/{STAGE}/{request.method.upper()}/{request.raw_path.removeprefix('/')}"

    def authorize(self, request: IncomingRequest) -> dict:
        secrets = {key: principal.secret_key for key, principal in self.principals.items()}
        try:
            caller = sigv4.verify(
                request.method,
                request.raw_path,
                request.raw_query,
                request.headers,
                request.body,
                secrets,
                self.region,
            )
        except sigv4.SignatureError as error:
            raise Denied(403, "Forbidden", str(error)) from error
        principal = self.principals[caller.access_key]
        resource = self.route_arn(request)
        decision = principal.policy.decide(self.ACTION, resource)
        if decision is not Decision.ALLOW:
            raise Denied(403, "Forbidden", f"{principal.name}: {decision} of {self.ACTION} on {resource}")
        user_id = f"AIDA{caller.access_key[-16:].upper()}"
        return {
            "iam": {
                "accessKey": caller.access_key,
                "accountId": self.account_id,
                "callerId": user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{self.account_id}:user/{principal.name}",
                "userId": user_id,
            }
        }


class JwtAuthorizer:
    """An HTTP API JWT authorizer: a token from the identity source, checked against the issuer's keys.

    As API Gateway does: the signature must verify with a key from the
    issuer's JWKS, ``iss`` must be the configured issuer, the token must not
    have expired, and its ``aud`` (ID tokens) or ``client_id`` (access tokens)
    must be one of the configured audiences; a route's AuthorizationScopes
    must meet the token's ``scope``. Anything else is 401 Unauthorized.
    """

    def __init__(self, issuer: str, audiences: list[str], identity_source: str, jwks_url: str, scopes: tuple = ()):
        self.issuer = issuer
        self.audiences = set(audiences)
        self.header = identity_source.removeprefix("$request.header.").lower()
        self.scopes = set(scopes)
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True)

    def authorize(self, request: IncomingRequest) -> dict:
        token = next((value for name, value in request.headers if name.lower() == self.header), "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Denied(401, "Unauthorized", f"no token in the {self.header} header")
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise Denied(401, "Unauthorized", f"token rejected: {error}") from error
        audience = claims.get("aud", claims.get("client_id"))
        audiences = set(audience) if isinstance(audience, list) else {audience}
        if not audiences & self.audiences:
            raise Denied(401, "Unauthorized", f"token audience {audience!r} is not one of {sorted(self.audiences)}")
        granted = set(str(claims.get("scope", "")).split())
        if self.scopes and not self.scopes & granted:
            raise Denied(403, "Forbidden", f"token scopes {sorted(granted)} miss {sorted(self.scopes)}")
        return {"jwt": {"claims": {name: _claim(value) for name, value in claims.items()}, "scopes": None}}


def _claim(value: object) -> str:
    """API Gateway hands JWT claims to the function as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return str(value)


def jwks_url(issuer: str, endpoint: str) -> str:
    """Where the issuer's keys are: a Cognito issuer's keys are served by the local AWS endpoint."""
    parts = urlsplit(issuer)
    if parts.hostname and parts.hostname.startswith("cognito-idp.") and parts.hostname.endswith(".amazonaws.com"):
        return f"{endpoint.rstrip('/')}{parts.path}/.well-known/jwks.json"
    return f"{issuer.rstrip('/')}/.well-known/jwks.json"


def authorizer_for(route: Route, api: HttpApiSpec, iam: IamAuthorizer, resolver: Resolver, endpoint: str) -> Authorizer:
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
    if "JwtConfiguration" in configured:
        config = resolver.resolve(configured["JwtConfiguration"])
        issuer = config["issuer"]
        audiences = config.get("audience") or []
        source = configured.get("IdentitySource", "$request.header.Authorization")
        return JwtAuthorizer(issuer, audiences, source, jwks_url(issuer, endpoint), route.scopes)
    raise TemplateError(
        f"{route.route_key} on {api.logical_id} uses authorizer {name!r} "
        f"({', '.join(sorted(configured)) or 'no settings'}); the local stack does not serve this kind yet"
    )
