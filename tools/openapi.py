"""Writes ``docs/openapi.json``: the published HTTP contract, generated from the code.

Every HttpApi function of ``template.yaml`` is imported as Lambda would (its
code folder and the domain layer), and its Powertools resolver describes its
own routes from the typed payloads in ``billing.schema``. The documents are
merged into one OpenAPI 3.1 document with the security scheme of each API
and the error table.

    python -m tools.openapi           # write docs/openapi.json
    python -m tools.openapi --check   # exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
LAYERS = [ROOT / "layers" / "domain", ROOT / "layers" / "pdf"]

TITLE = "Invoicing for a record-count-billed email service"
DESCRIPTION = """\
Monthly invoices (適格請求書) set by each account's peak record count in Asia/Tokyo.

* **Platform API** (`PlatformApi`, AWS_IAM): sign each request with SigV4 (service `execute-api`).
* **Customer API** (`CustomerApi`, Cognito JWT): `Authorization: Bearer <id token>`; the account comes
  only from the token's `custom:account_id` claim. The change confirmation page (`/change-requests/...`)
  takes no JWT: the one-time token from the confirmation email is its credential, and it answers
  Japanese HTML pages, errors included.

Bodies are JSON in UTF-8 (the confirmation page's POST takes a form). A body that is not UTF-8, holds a
lone surrogate, gives a key twice, or holds `NaN` is malformed. Query parameters a route does not declare
are refused. Times in responses are ISO 8601 with `+09:00`.

Every error answers `{"error": {"code": "<code>", "message": "<human readable>"}}` (except on the
confirmation page, which answers Japanese pages):

| code | status | when |
|---|---|---|
| `invalid_request` | 400 | malformed JSON, missing or extra fields, wrong types, a bad id, month or date |
| `account_not_found` | 404 | unknown account |
| `not_found` | 404 | no such statement or resource for the caller |
| `change_request_not_found` | 404 | unknown change request |
| `month_closed` | 409 | a count for a month that is already closed |
| `account_cancelled` | 409 | a count after the contract has ended |
| `contract_not_started` | 409 | a count observed before the month of `contract_start` |
| `invalid_token` | 400 | the confirmation token does not match |
| `token_expired` | 410 | the token is older than 7 days |
| `already_applied` | 409 | the change request was already applied |
| `approval_required` | 409 | a legal-name change: an operator approves it |
| `confirmation_required` | 409 | not a legal-name change: the contact confirms it |
"""

SECURITY_SCHEMES = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS Signature Version 4 (IAM), service execute-api",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
    "cognitoJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "a Cognito id token carrying custom:account_id",
    },
}


# What API Gateway itself answers before any function runs, in its own body shape.
GATEWAY_ERROR = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "description": "API Gateway's own error body",
}
GATEWAY_RESPONSES = {
    name: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}},
    }
    for name, description in {
        "Unauthorized": "no token, or a forged or expired one",
        "Forbidden": "a missing or bad signature, or a principal whose policy does not cover the route",
        "TooLarge": "a body over API Gateway's 10 MB payload limit",
    }.items()
}
GATEWAY = {
    "sigv4": [("403", "Forbidden"), ("413", "TooLarge")],
    "cognitoJwt": [("401", "Unauthorized"), ("413", "TooLarge")],
    None: [("413", "TooLarge")],
}


def template_routes() -> tuple[dict[str, Path], dict[tuple[str, str], tuple[str, str]]]:
    """Each HttpApi function's code folder, and each route's API and security scheme, as template.yaml says.

    The template decides who may call a route; the document only reports it.
    """
    from local.template import Template

    template = Template.load(ROOT / "template.yaml")
    apis = template.http_apis()
    folders, routes = {}, {}
    for route in template.routes():
        folders[route.function] = ROOT / template.function_properties(route.function)["CodeUri"]
        authorizer = route.authorizer or apis[route.api].auth.get("DefaultAuthorizer")
        scheme = {"AWS_IAM": "sigv4", "NONE": None}.get(authorizer, "cognitoJwt")
        routes[(route.method.lower(), route.path)] = (route.api, scheme)
    return dict(sorted(folders.items())), routes


def load_app(logical_id: str, folder: Path):
    """The function's ``app`` module, under a name of its own (every function has an ``app``)."""
    for path in map(str, LAYERS):
        if path not in sys.path:
            sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location(f"openapi_{logical_id}", folder / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build() -> dict:
    folders, routes = template_routes()
    paths: dict = {}
    schemas: dict = {}
    for logical_id, folder in folders.items():
        part = json.loads(load_app(logical_id, folder).app.get_openapi_json_schema(title=TITLE))
        for path, operations in part.get("paths", {}).items():
            for method, operation in operations.items():
                api, scheme = routes[(method, path)]
                # No scheme: the route has no authorizer (the change confirmation page's token is in the request).
                security = [{scheme: []}] if scheme else []
                operation.update({"tags": [api], "security": security, "x-function": logical_id})
                responses = operation["responses"]
                responses.pop("422", None)  # Powertools' own validation status; ours answer 400
                for response in responses.values():  # an answer without a body (a redirect) documents no content
                    if response.get("content") == {}:
                        del response["content"]
                responses.update(
                    {status: {"$ref": f"#/components/responses/{name}"} for status, name in GATEWAY[scheme]}
                )
            paths.setdefault(path, {}).update(operations)
        schemas.update(part.get("components", {}).get("schemas", {}))
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": "1", "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**dict(sorted(schemas.items())), "GatewayError": GATEWAY_ERROR},
            "responses": GATEWAY_RESPONSES,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/openapi.json differs from the code")
    args = parser.parse_args(argv)
    fresh = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != fresh:
            print("docs/openapi.json is stale: run `make openapi` and commit it", file=sys.stderr)
            return 1
        print("docs/openapi.json matches the code")
        return 0
    DOCUMENT.write_text(fresh, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(ROOT)} ({len(build()['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
