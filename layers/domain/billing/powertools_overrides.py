"""Where this code reaches into Powertools' private event-handler code, each place once, and why.

Powertools' resolver has public extension points for most of what
``billing.http`` needs (a serializer, a JSON deserializer, exception
handlers, middlewares); it has none for these two, so they override private
names. ``VERIFIED_WITH`` is the Powertools version they were read against:
``tests/unit/test_powertools_overrides.py`` fails when the installed or pinned
version differs, or when a private name they rely on is gone or has another
signature, so an upgrade re-reads them instead of breaking them quietly.

* ``WholePathResolver``: routes match the whole path. Powertools compiles a
  route to ``^...$`` (``_compile_regex``), and ``$`` also matches before a
  final newline, so ``/v1/accounts/acme\\n`` would reach the route with
  ``acme``. There is no option for the pattern: the override gives it ``\\Z``.
* ``use_json_bodies_only``: a request body must be JSON, by a Content-Type
  read case-insensitively (``billing.schema.parsing.require_json``).
  Powertools' request validation (``OpenAPIRequestValidationMiddleware``)
  reads a body by its own test of the type (case-sensitive, a prefix, none
  at all taken as JSON) and also parses form and multipart bodies (and fails
  with a 500 on a multipart header without a boundary); no route here takes
  them. Its ``_get_body`` is overridden, and the resolver's private
  ``_request_validation_middleware`` set to it: Powertools runs that one
  before any other middleware (a public ``app.use`` middleware comes after
  it, too late to refuse the body first) and offers no way to pass another.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware

from billing.schema.parsing import require_json

VERIFIED_WITH = "3.37.0"  # aws-lambda-powertools, as pinned in layers/domain/requirements.txt


class WholePathResolver(APIGatewayHttpResolver):
    """An HTTP API resolver whose routes match the whole path (``\\Z``, not ``$``)."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = r"^{}\Z"):
        return APIGatewayHttpResolver._compile_regex(rule, r"^{}\Z")


class _JsonBodiesOnly(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, except that a body must be JSON."""

    def _get_body(self, app: APIGatewayHttpResolver) -> dict[str, Any]:
        if app.current_event.body:
            require_json(app.current_event.headers.get("content-type") or "")
        return self._parse_json_data(app)


def use_json_bodies_only(app: APIGatewayHttpResolver) -> None:
    """Make ``app`` (made with ``enable_validation=True``) validate requests with ``_JsonBodiesOnly``."""
    if not hasattr(app, "_request_validation_middleware"):
        raise ValueError("the resolver validates nothing: make it with enable_validation=True")
    app._request_validation_middleware = _JsonBodiesOnly()
