"""Verify AWS Signature Version 4 on incoming requests, as API Gateway's AWS_IAM auth does.

The signature is recomputed with botocore's own signer (``SigV4Auth``), fed
exactly what the caller says it signed: the ``SignedHeaders`` it lists, the
raw path and query as received, the payload hash and its ``X-Amz-Date``. The
request is refused when:

* the ``Authorization`` header is missing or not ``AWS4-HMAC-SHA256``;
* the access key is unknown, or the credential scope is not
  ``<date>/<our region>/execute-api/aws4_request``;
* ``X-Amz-Date`` is missing, unsigned or more than 15 minutes away from now;
* ``host`` is not signed;
* ``X-Amz-Content-SHA256`` is present but is not the hash of the body;
* the recomputed signature differs (compared in constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class SignatureError(Exception):
    """The request is not validly signed; the message says why (for logs, never for the caller)."""


@dataclass(frozen=True)
class Caller:
    """Who signed the request."""

    access_key: str
    region: str
    service: str


class _SignedHeadersOnly(SigV4Auth):
    """botocore's signer, restricted to the headers the caller says it signed."""

    def __init__(self, credentials: Credentials, service: str, region: str, signed: HTTPHeaders):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    secrets: Mapping[str, str],
    region: str,
    service: str = "execute-api",
    now: datetime | None = None,
) -> Caller:
    """Check a request's SigV4 signature; return the caller or raise ``SignatureError``.

    ``headers`` are the request's headers as received (repeated names allowed),
    ``secrets`` maps each known access key id to its secret access key.
    """
    received = HTTPHeaders()
    for name, value in headers:
        received[name.lower()] = value

    authorization = received.get("authorization")
    if not authorization:
        raise SignatureError("no Authorization header")
    match = _AUTHORIZATION.match(authorization.strip())
    if not match:
        raise SignatureError(f"Authorization is not {ALGORITHM} with Credential, SignedHeaders and Signature")
    scope = match["credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureError(f"malformed credential scope {match['credential']!r}")
    access_key, scope_date, scope_region, scope_service, _ = scope
    if access_key not in secrets:
        raise SignatureError(f"unknown access key {access_key!r}")
    if scope_service != service:
        raise SignatureError(f"credential scope names service {scope_service!r}, not {service!r}")
    if scope_region != region:
        raise SignatureError(f"credential scope names region {scope_region!r}, not {region!r}")

    signed_names = match["signed"].split(";")
    if signed_names != sorted(set(signed_names)):
        raise SignatureError("SignedHeaders must be lowercase, sorted and unique")
    for required in ("host", "x-amz-date"):
        if required not in signed_names:
            raise SignatureError(f"{required} is not among the signed headers")
    missing = [name for name in signed_names if name not in received]
    if missing:
        raise SignatureError(f"signed header(s) {', '.join(missing)} not in the request")

    timestamp = received["x-amz-date"]
    try:
        signed_at = datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError as error:
        raise SignatureError(f"X-Amz-Date {timestamp!r} is not {SIGV4_TIMESTAMP}") from error
    now = now or datetime.now(UTC)
    if abs(now - signed_at) > MAX_SKEW:
        raise SignatureError(f"X-Amz-Date {timestamp} is more than {MAX_SKEW.seconds // 60} minutes away from now")
    if scope_date != timestamp[:8]:
        raise SignatureError("credential scope date differs from X-Amz-Date")

    payload_hash = hashlib.sha256(body).hexdigest()
    claimed_hash = received.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash != payload_hash:
        raise SignatureError("X-Amz-Content-SHA256 is not the SHA-256 of the body")

    signed = HTTPHeaders()
    for name in signed_names:
        for value in received.get_all(name):
            signed[name] = value
    request = AWSRequest(
        method=method.upper(),
        url=f"http://{received['host']}{raw_path}" + (f"?{raw_query}" if raw_query else ""),
        headers={"X-Amz-Content-SHA256": payload_hash},
        data=body,
    )
    request.context["timestamp"] = timestamp
    signer = _SignedHeadersOnly(Credentials(access_key, secrets[access_key]), service, region, signed)
    canonical_request = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical_request), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("signature does not match")
    return Caller(access_key, region, service)
