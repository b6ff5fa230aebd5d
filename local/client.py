"""A ``requests`` session that signs every request with SigV4, as the email platform or an operator does.

Used by the demo and by ``tests/local``::

    config = json.loads(first_line_of_local_up)
    api = SignedSession.from_config(config)
    api.put("/v1/accounts/acme", json={...})
    operator = SignedSession.from_config(config, principal="operator")
    operator.post("/v1/change-requests/<id>/approve", json={"approved_by": "..."})

Signing is botocore's ``SigV4Auth`` for service ``execute-api``; the session
signs the request exactly as it will be sent (after ``requests`` has prepared
its URL, headers and body).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"


class SigV4RequestAuth(requests.auth.AuthBase):
    """``requests`` auth hook: adds ``X-Amz-Date`` and a SigV4 ``Authorization`` header."""

    def __init__(self, access_key: str, secret_key: str, region: str, service: str = SERVICE):
        self.credentials = Credentials(access_key, secret_key)
        self.region = region
        self.service = service

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {name: value for name, value in prepared.headers.items() if name.lower() != "authorization"}
        request = AWSRequest(method=prepared.method, url=prepared.url, headers=headers, data=body)
        SigV4Auth(self.credentials, self.service, self.region).add_auth(request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in request.headers:
                prepared.headers[name] = request.headers[name]
        return prepared


class SignedSession(requests.Session):
    """A session bound to one API base URL; relative paths are joined to it and every request is signed."""

    def __init__(self, base_url: str, access_key: str, secret_key: str, region: str):
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = SigV4RequestAuth(access_key, secret_key, region)

    @classmethod
    def from_config(cls, config: Mapping[str, str], principal: str = "platform") -> SignedSession:
        """From the JSON line ``python -m local up`` prints first (or ``.local/stack.json``).

        ``principal`` is whose key pair signs: ``platform`` (``aws_access_key_id``)
        or ``operator`` (``operator_access_key_id``).
        """
        prefix = {"platform": "aws", "operator": "operator"}.get(principal)
        if prefix is None:
            raise ValueError(f"principal must be platform or operator, not {principal!r}")
        return cls(
            config["url"], config[f"{prefix}_access_key_id"], config[f"{prefix}_secret_access_key"], config["region"]
        )

    def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:
        # A first request may wait for its function's init behind the stack's other inits, which take turns
        # on this machine's cores (local/runtime.py): give it that time, not only Lambda's 30 s.
        kwargs.setdefault("timeout", 120)
        return super().request(method, urljoin(self.base_url, url.lstrip("/")), *args, **kwargs)
