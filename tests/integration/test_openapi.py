"""docs/openapi.json is the published contract: generated from the code, and covering the template."""

from __future__ import annotations

import json

from local.template import Template
from tools import openapi


def test_the_committed_document_is_what_the_code_generates():
    # Given the document in the repository and one generated from the code now
    committed = openapi.DOCUMENT.read_text(encoding="utf-8")
    # Then they are the same: a changed payload or route needs `make openapi`
    assert committed == openapi.render(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_every_route_of_the_template_is_documented_with_its_security():
    document = json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))
    template = Template.load(openapi.ROOT / "template.yaml")
    for route in template.routes():
        operation = document["paths"].get(route.path, {}).get(route.method.lower())
        assert operation is not None, f"{route.route_key} is in template.yaml but not in docs/openapi.json"
        auth = route.authorizer or template.http_apis()[route.api].auth.get("DefaultAuthorizer")
        expected = {"AWS_IAM": [{"sigv4": []}], "NONE": []}.get(auth, [{"cognitoJwt": []}])
        assert operation["security"] == expected, route.route_key
        assert operation["x-function"] == route.function


def test_every_documented_operation_is_a_route_of_the_template():
    document = json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))
    routes = {(r.method.lower(), r.path) for r in Template.load(openapi.ROOT / "template.yaml").routes()}
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == routes


def test_errors_are_documented_in_the_contracts_shape():
    document = json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["error"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/change-requests/"):
                # The change confirmation page answers its errors as pages too, for a customer's browser
                assert set(operation["responses"]["400"]["content"]) == {"text/html"}, f"{method} {path}"
                continue
            bad_request = operation["responses"]["400"]["content"]["application/json"]["schema"]
            assert bad_request == {"$ref": "#/components/schemas/ErrorOut"}, f"{method} {path}"
            assert "422" not in operation["responses"]


def test_the_file_links_are_documented_as_redirects_without_a_body():
    document = json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))
    for path in ("/v1/statements/{month}/pdf", "/v1/statements/{month}/einvoice"):
        redirect = document["paths"][path]["get"]["responses"]["302"]
        assert "content" not in redirect, path  # no body, so no media type either
        assert redirect["headers"]["Location"]["required"] is True, path
        assert "200" not in document["paths"][path]["get"]["responses"]


def test_the_invoice_search_documents_its_csv_download_beside_its_json():
    document = json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))
    operation = document["paths"]["/v1/invoices"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/InvoicesOut"}
    assert content["text/csv"]["schema"]["type"] == "string" and "BOM" in content["text/csv"]["schema"]["description"]
    (fmt,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert fmt["in"] == "query" and "csv" in json.dumps(fmt["schema"])
