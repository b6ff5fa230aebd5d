"""The operators' invoice desk under moto: search, paging, CSV export and one document with its history."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from billing.dal.clients import to_item
from billing.dal.invoices import InvoiceStore, document_record
from billing.invoicing.invoice import Invoice
from billing.vocabulary import DocumentKind
from tests.conftest import LambdaContext, assert_answer_documented, assert_documented, load_event
from tests.integration.billing_month import ACCOUNTS, Month, invoices
from tests.integration.conftest import TABLE, Api

FORMULA = '=HYPERLINK("http://evil.example","請求書")'
NOVEMBER = {"issued_from": "2026-11-01", "issued_to": "2026-11-30"}
AUTUMN = {"issued_from": "2026-11-01", "issued_to": "2026-12-31"}


@pytest.fixture
def desk(aws):
    """October closed for the four accounts, plus a correction, a return invoice and a flagged invoice."""
    month = Month()
    month.seed()
    month.run_close()
    store = InvoiceStore(TABLE)
    closed = {account: item["invoice_number"]["S"] for account, item in invoices().items()}
    debit = Invoice.from_record(store.get("debit-web", closed["debit-web"]))
    correction = replace(
        debit,
        invoice_number="INV-202610-0000005",
        kind=DocumentKind.CORRECTION,
        issued_on=date(2026, 11, 20),
        replaces=debit.invoice_number,
        replaces_issued_on=debit.issued_on,
        reason="誤った宛名",
    )
    web = Invoice.from_record(store.get("transfer-web", closed["transfer-web"]))
    credit_note = replace(
        web,
        invoice_number="CN-202610-0000001",
        kind=DocumentKind.CREDIT_NOTE,
        issued_on=date(2026, 12, 5),
        replaces=web.invoice_number,
        replaces_issued_on=web.issued_on,
        recipient=replace(web.recipient, company_name=FORMULA),
        reason="返品",
    )
    client = boto3.client("dynamodb")
    for document in (correction, credit_note):
        client.put_item(TableName=TABLE, Item=to_item(document_record(document)))
    client.update_item(  # what a late report does to the invoice it would have changed
        TableName=TABLE,
        Key={"pk": {"S": "ACCOUNT#transfer-postal"}, "sk": {"S": f"INVOICE#2026-10#{closed['transfer-postal']}"}},
        UpdateExpression="SET correction_suggested = :yes",
        ExpressionAttributeValues={":yes": {"BOOL": True}},
    )
    return {"api": Api("invoice_desk"), "closed": closed, "correction": correction, "credit_note": credit_note}


def call(api: Api, query: dict | None = None, event: str = "list_invoices.json", **changes):
    event_body = load_event(event)
    if query is not None:
        event_body["queryStringParameters"] = query
        event_body["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    for key, value in changes.items():
        event_body[key] = value
    return api.module.lambda_handler(event_body, LambdaContext())


def listed(api: Api, **query) -> tuple[int, dict]:
    response = call(api, query)
    return response["statusCode"], json.loads(response["body"])


def numbers(body: dict) -> list[str]:
    return [row["invoice_number"] for row in body["invoices"]]


def test_the_sample_event_lists_the_month_closes_invoices_oldest_first(desk):
    # When the operator replays the sample list event (November's issue dates)
    response = call(desk["api"])
    body = json.loads(response["body"])
    # Then the close's four invoices and the correction come back, by issue date then number
    assert response["statusCode"] == 200
    assert numbers(body) == [*sorted(desk["closed"].values()), "INV-202610-0000005"]
    assert body["next_token"] is None
    first = body["invoices"][0]
    assert set(first) == {
        "invoice_number", "kind", "account_id", "counterparty", "month", "issued_on", "total", "tax", "status",
        "replaces", "payment_status", "balance",
    }  # fmt: skip
    assert (first["payment_status"], first["balance"]) == ("unpaid", first["total"])
    assert first["status"] == "issued" and first["kind"] == "invoice" and first["month"] == "2026-10"
    assert first["counterparty"] == "株式会社サンプル商事"


def test_each_condition_alone_and_combined(desk):
    api, closed = desk["api"], desk["closed"]
    totals = {account: int(item["total"]["N"]) for account, item in invoices().items()}
    top = max(totals.values())
    # dates alone
    assert numbers(listed(api, issued_from="2026-12-01", issued_to="2026-12-31")[1]) == ["CN-202610-0000001"]
    assert numbers(listed(api, issued_from="2026-11-02", issued_to="2026-11-19")[1]) == []
    assert numbers(listed(api, issued_from="2026-11-20", issued_to="2026-11-20")[1]) == ["INV-202610-0000005"]
    # amounts alone (inclusive at both ends)
    status, body = listed(api, **NOVEMBER, min_total=str(top))
    assert status == 200
    assert numbers(body) == [closed["debit-web"], "INV-202610-0000005"]
    _, body = listed(api, **NOVEMBER, max_total=str(totals["transfer-web"]))
    assert set(numbers(body)) == {closed[a] for a, total in totals.items() if total <= totals["transfer-web"]}
    _, body = listed(api, **NOVEMBER, min_total=str(totals["transfer-web"]), max_total=str(totals["transfer-web"]))
    assert set(numbers(body)) == {closed[a] for a, total in totals.items() if total == totals["transfer-web"]}
    # counterparty alone: part of the name as issued, case-sensitive
    assert len(numbers(listed(api, **AUTUMN, counterparty="サンプル商事")[1])) == len(ACCOUNTS) + 1
    assert numbers(listed(api, **AUTUMN, counterparty="HYPERLINK")[1]) == ["CN-202610-0000001"]
    assert numbers(listed(api, **AUTUMN, counterparty="hyperlink")[1]) == []
    # the correction flag alone
    assert numbers(listed(api, **AUTUMN, correction_suggested="true")[1]) == [closed["transfer-postal"]]
    assert closed["transfer-postal"] not in numbers(listed(api, **AUTUMN, correction_suggested="false")[1])
    # combined: every condition must hold
    _, body = listed(api, **AUTUMN, counterparty="サンプル", min_total=str(top), max_total=str(top))
    assert numbers(body) == [closed["debit-web"], "INV-202610-0000005"]
    _, body = listed(api, **AUTUMN, counterparty="サンプル", correction_suggested="true", min_total=str(top))
    expected = [closed["transfer-postal"]] if totals["transfer-postal"] >= top else []
    assert numbers(body) == expected


@pytest.mark.parametrize("limit", [1, 2])
def test_paging_returns_each_document_exactly_once_in_order(desk, limit):
    api = desk["api"]
    everything = numbers(listed(api, **AUTUMN)[1])
    assert len(everything) == len(ACCOUNTS) + 2
    seen, token, pages = [], None, 0
    while True:
        query = {**AUTUMN, "limit": str(limit), **({"next_token": token} if token else {})}
        status, body = listed(api, **query)
        assert status == 200, body
        assert len(body["invoices"]) <= limit
        seen += numbers(body)
        pages += 1
        token = body["next_token"]
        if token is None:
            break
        assert all(c.isalnum() or c in "-_" for c in token)
    assert seen == everything
    assert pages == -(-len(everything) // limit)  # no empty last page


def test_the_csv_export_has_a_bom_a_header_and_neutralised_cells(desk):
    response = call(desk["api"], {**AUTUMN, "format": "csv"})
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert_answer_documented("GET /v1/invoices", response)  # docs/openapi.json lists the CSV download
    assert response["headers"]["Content-Disposition"].startswith("attachment; filename=")
    body = response["body"]
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0] == [
        "invoice_number", "kind", "account_id", "counterparty", "month", "issued_on", "total", "tax", "status",
        "replaces", "payment_status", "balance",
    ]  # fmt: skip
    assert [r[0] for r in rows[1:]] == numbers(listed(desk["api"], **AUTUMN)[1])
    credit = rows[-1]
    assert credit[0] == "CN-202610-0000001" and credit[1] == "credit_note"
    assert credit[3] == "'" + FORMULA  # a spreadsheet shows it as text, never runs it
    assert rows[1][3] == "株式会社サンプル商事"  # ordinary names as written


def test_csv_takes_no_paging_parameters(desk):
    response = call(desk["api"], {**AUTUMN, "format": "csv", "limit": "2"})
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_request"


def test_one_document_with_its_history_and_a_short_lived_pdf_link(desk):
    api, closed = desk["api"], desk["closed"]
    number = closed["debit-web"]
    status, body = get(api, number)
    assert status == 200, body
    assert body["invoice_number"] == number and body["account_id"] == "debit-web"
    assert body["lines"] and body["tax_summary"][0]["rate_percent"] == 10 and body["recipient"]["company_name"]
    assert (body["plan"], body["payment_method"], body["delivery_method"]) == ("standard", "direct_debit", "web")
    assert len(body["pdf_sha256"]) == 64
    link = urlparse(body["pdf_url"])
    assert link.path.endswith(f"/{number}.pdf")
    assert int(parse_qs(link.query)["X-Amz-Expires"][0]) <= 300
    assert [h["invoice_number"] for h in body["history"]] == [number, "INV-202610-0000005"]
    assert body["history"][1]["replaces"] == number
    assert not {"pk", "sk", "issue_shard", "issued_key", "document_number"} & set(body)


def get(api: Api, number: str):
    event = load_event("get_invoice.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/invoices/{number}"
    event["pathParameters"] = {"invoice_number": number}
    response = api.module.lambda_handler(event, LambdaContext())
    body = json.loads(response["body"])
    assert_documented(event["routeKey"], response["statusCode"], body)
    return response["statusCode"], body


def test_a_return_invoice_by_number_and_the_unknown_and_malformed(desk):
    api = desk["api"]
    status, body = get(api, "CN-202610-0000001")
    assert status == 200 and body["kind"] == "credit_note" and body["counterparty"] == FORMULA
    assert body["pdf_url"] is None  # written directly, never archived
    assert [h["invoice_number"] for h in body["history"]] == [desk["closed"]["transfer-web"], "CN-202610-0000001"]
    status, body = get(api, "INV-202610-0009999")
    assert (status, body["error"]["code"]) == (404, "not_found")
    for malformed in ("INV-202613-0000001", "INV-202610-0000000", "inv-202610-0000001", "INV-202610-1"):
        status, body = get(api, malformed)
        assert (status, body["error"]["code"]) == (400, "invalid_request"), malformed


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"issued_from": "2026-11-01"},
        {"issued_from": "2026-11-31", "issued_to": "2026-12-01"},
        {"issued_from": "2026-11-01", "issued_to": "2026/12/01"},
        {"issued_from": "２０２６-11-01", "issued_to": "2026-12-01"},
        {"issued_from": "2026-12-01", "issued_to": "2026-11-01"},
        {"issued_from": "2026-01-01", "issued_to": "2027-01-02"},
        {"issued_from": "9999-12-01", "issued_to": "9999-12-31"},
        {**NOVEMBER, "min_total": "20000", "max_total": "10000"},
        {**NOVEMBER, "min_total": "-1"},
        {**NOVEMBER, "min_total": "1e3"},
        {**NOVEMBER, "max_total": "1.5"},
        {**NOVEMBER, "limit": "0"},
        {**NOVEMBER, "limit": "101"},
        {**NOVEMBER, "limit": "ten"},
        {**NOVEMBER, "limit": "1.0"},
        {**NOVEMBER, "limit": "+5"},
        {**NOVEMBER, "limit": "５"},
        {**NOVEMBER, "limit": "1_0"},
        {**NOVEMBER, "counterparty": "%ff"},  # a %-escape that is not UTF-8 (the gateway would pass U+FFFD on)
        {**NOVEMBER, "counterparty": "%E5%95"},  # half a character
        {**NOVEMBER, "correction_suggested": "yes"},
        {**NOVEMBER, "format": "xlsx"},
        {**NOVEMBER, "account": "acme"},
        {**NOVEMBER, "next_token": "garbage!"},
        {**NOVEMBER, "next_token": "e30"},
        {**NOVEMBER, "next_token": "x" * 401},
    ],
)
def test_bad_parameters_are_400(aws, query):
    status, body = listed(Api("invoice_desk"), **query)
    assert (status, body["error"]["code"]) == (400, "invalid_request"), body


def test_a_token_from_another_search_or_tampered_is_400(desk):
    api = desk["api"]
    _, body = listed(api, **AUTUMN, limit="1")
    token = body["next_token"]
    status, _ = listed(api, **AUTUMN, limit="1", next_token=token)
    assert status == 200
    status, body = listed(api, **AUTUMN, limit="1", min_total="1", next_token=token)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    status, body = listed(
        api, **AUTUMN, limit="1", next_token=token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    )
    assert (status, body["error"]["code"]) == (400, "invalid_request")
