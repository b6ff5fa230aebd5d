"""local.sigv4 accepts exactly what botocore signs with the right key, and nothing altered after signing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local import sigv4

REGION = "ap-northeast-1"
KEY, SECRET = "AKIALOCALTEST0000001", "local-secret"
SECRETS = {KEY: SECRET}
URL = "http://127.0.0.1:3000/v1/accounts/acme/record-counts"
BODY = b'{"count": 12345, "observed_at": "2026-11-25T10:00:00+09:00"}'


def signed(
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    key: str = KEY,
    secret: str = SECRET,
    service: str = "execute-api",
    region: str = REGION,
    headers: dict | None = None,
) -> AWSRequest:
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return request


def check(request: AWSRequest, body: bytes | None = None, path: str | None = None, query: str | None = None, **kwargs):
    """Verify as the gateway does: the path and query as sent, the Host header the client sends."""
    parts = urlsplit(request.url)
    headers = [*request.headers.items(), ("Host", "127.0.0.1:3000")]
    return sigv4.verify(
        request.method,
        parts.path if path is None else path,
        parts.query if query is None else query,
        headers,
        (request.body or b"") if body is None else body,
        SECRETS,
        REGION,
        **kwargs,
    )


def test_a_request_signed_with_the_local_key_is_accepted():
    # Given a request botocore signed with the local credentials
    request = signed()
    # When the gateway verifies it / Then it names the caller
    assert check(request).access_key == KEY


def test_a_query_string_and_an_encoded_path_are_part_of_what_is_verified():
    request = signed("GET", "http://127.0.0.1:3000/v1/accounts/a%2Fb/usage/2026-11?b=2&a=1", body=b"")
    assert check(request).access_key == KEY
    with pytest.raises(sigv4.SignatureError):
        check(request, query="b=2&a=2")
    with pytest.raises(sigv4.SignatureError):
        check(request, path="/v1/accounts/a%2Fc/usage/2026-11")


def test_a_body_changed_after_signing_is_rejected():
    request = signed()
    with pytest.raises(sigv4.SignatureError, match="signature does not match"):
        check(request, body=BODY.replace(b"12345", b"99999"))


def test_a_signature_made_with_the_wrong_secret_is_rejected():
    with pytest.raises(sigv4.SignatureError, match="signature does not match"):
        check(signed(secret="not-the-secret"))


def test_an_unknown_access_key_is_rejected():
    with pytest.raises(sigv4.SignatureError, match="unknown access key"):
        check(signed(key="AKIASOMEONEELSE00000"))


def test_a_signature_for_another_service_or_region_is_rejected():
    with pytest.raises(sigv4.SignatureError, match="service"):
        check(signed(service="s3"))
    with pytest.raises(sigv4.SignatureError, match="region"):
        check(signed(region="us-east-1"))


@pytest.mark.parametrize("minutes", [16, -16])
def test_a_signature_more_than_15_minutes_from_now_is_rejected(minutes):
    request = signed()
    signed_at = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert check(request, now=signed_at + timedelta(minutes=14)).access_key == KEY
    with pytest.raises(sigv4.SignatureError, match="15 minutes"):
        check(request, now=signed_at + timedelta(minutes=minutes))


def test_a_missing_or_malformed_authorization_header_is_rejected():
    request = signed()
    del request.headers["Authorization"]
    with pytest.raises(sigv4.SignatureError, match="no Authorization"):
        check(request)
    request.headers["Authorization"] = "Bearer something"
    with pytest.raises(sigv4.SignatureError, match="AWS4-HMAC-SHA256"):
        check(request)


def test_a_payload_hash_header_that_does_not_match_the_body_is_rejected():
    # Given a client that sends X-Amz-Content-SHA256, as botocore does for some services
    request = signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    # Then the body cannot be swapped under an unsigned payload
    with pytest.raises(sigv4.SignatureError, match="X-Amz-Content-SHA256"):
        check(request)


def test_a_signed_header_changed_after_signing_is_rejected():
    request = signed()
    request.headers.replace_header("Content-Type", "text/plain")
    with pytest.raises(sigv4.SignatureError, match="signature does not match"):
        check(request)
