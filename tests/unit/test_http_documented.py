"""``documented``: the responses a route declares for docs/openapi.json, whatever combination it is given."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

from billing.errors import InvoiceReplaced

CSV = {"text/csv": "the same rows as one CSV download"}


def documented(*args, **kwargs) -> dict:
    """``billing.http.documented``, imported when first called: billing.http makes the Powertools Metrics, which
    read POWERTOOLS_* once, and the integration tests set those before they import it."""
    from billing.http import documented

    return documented(*args, **kwargs)


class Page(BaseModel):
    rows: list[str]


def openapi_of(responses: dict) -> dict:
    """The 200 answer a resolver documents for a route declaring ``responses``."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.get("/rows", responses=responses)
    def rows():
        return {"rows": []}

    return json.loads(app.get_openapi_json_schema())["paths"]["/rows"]["get"]["responses"]["200"]


def test_alternatives_without_a_model_document_a_json_answer_beside_them():
    # Given a route with no JSON model whose answer may be a CSV instead
    responses = documented(None, InvoiceReplaced, description="rows", alternatives=CSV)
    # Then its success documents both media types: JSON (its schema undocumented) and the CSV, described
    assert responses[200]["content"] == {
        "application/json": {},
        "text/csv": {"schema": {"type": "string", "description": "the same rows as one CSV download"}},
    }
    assert responses[409]["description"] == "`invoice_replaced`"
    # And Powertools renders it so
    assert set(openapi_of(responses)["content"]) == {"application/json", "text/csv"}


def test_alternatives_beside_a_model_keep_its_schema():
    content = openapi_of(documented(Page, alternatives=CSV))["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Page"}
    assert content["text/csv"]["schema"]["description"] == CSV["text/csv"]


def test_without_a_model_or_alternatives_powertools_documents_the_json_answer_itself():
    assert "content" not in documented(None)[200]
    assert set(openapi_of(documented(None))["content"]) == {"application/json"}
    assert documented(None, media_type="text/html")[200]["content"] == {"text/html": {"schema": {"type": "string"}}}
