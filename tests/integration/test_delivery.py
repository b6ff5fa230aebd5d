"""Delivery under moto: web statements with one notice, postal letters in one print batch."""

from __future__ import annotations

import csv
import io
import json

import boto3
import pytest
from pypdf import PdfReader

from billing.dal.deliveries import NOTICE
from billing.dal.leases import LeaseBusy
from tests.conftest import assert_answer_documented, load_template
from tests.integration.billing_month import (
    ACCOUNTS,
    FIRST_ASYNC_RETRY_S,
    MONTH,
    STATEMENTS_URL,
    Delivery,
    Month,
    customer_api,
    enable_delivery,
    invoice_item,
    invoices,
    sent_emails,
)
from tests.integration.conftest import BUCKET, TABLE


@pytest.fixture
def closed(aws, monkeypatch):
    enable_delivery(monkeypatch)
    month = Month()
    month.seed()
    month.run_close()
    return month


@pytest.fixture
def delivery(closed):
    return Delivery()


def status_of(account):
    item = invoices()[account]
    return {
        k: item[k].get("S") for k in ("delivery_status", "available_on", "posting_on", "estimated_arrival") if k in item
    }


def test_each_payment_and_delivery_combination_ends_in_its_channel_with_its_dates(delivery):
    delivery.deliver_all()
    # Issued Sunday 2026-11-01: posted Monday 11/2; 11/3 is 文化の日, so two delivery days end Thursday 11/5.
    assert status_of("transfer-web") == {"delivery_status": "published", "available_on": "2026-11-01"}
    assert status_of("debit-web") == {"delivery_status": "published", "available_on": "2026-11-01"}
    postal = {
        "delivery_status": "batched",
        "available_on": "2026-11-01",
        "posting_on": "2026-11-02",
        "estimated_arrival": "2026-11-05",
    }
    assert status_of("transfer-postal") == postal
    assert status_of("debit-postal") == postal
    assert invoices()["transfer-web"]["due_on"]["S"] == "2026-11-30"  # 振込期限: end of the issue month
    assert invoices()["debit-postal"]["debit_on"]["S"] == "2026-11-27"  # 口座振替日: the 27th


def test_web_statements_send_one_notice_with_a_link_and_no_attachment(delivery):
    delivery.deliver_all()
    delivery.deliver("transfer-web")  # EventBridge redelivers
    delivery.deliver("debit-web")
    emails = sent_emails()
    assert len(emails) == 2
    for email in emails:
        assert STATEMENTS_URL in email.body
        assert "請求書番号" in email.body
        assert not getattr(email, "attachments", None)


def test_a_redelivered_event_adds_no_second_letter(delivery):
    delivery.deliver_all()
    delivery.deliver("transfer-postal")
    batch = delivery.print_day("2026-11-02")
    assert (batch["letters"], batch["envelopes"]) == (2, 2)


def test_the_print_run_makes_a_pdf_and_manifest_and_marks_letters_posted(delivery):
    delivery.deliver_all()
    assert delivery.print_day("2026-10-30")["letters"] == 0  # nothing is posted before its posting date...
    (batch,) = delivery.print_day("2026-11-02")["batches"]
    s3 = boto3.client("s3")
    assert batch["pdf_key"] == "print-batches/2026-11-02/0001/letters.pdf"
    pdf = s3.get_object(Bucket=BUCKET, Key=batch["pdf_key"])["Body"].read()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    manifest = s3.get_object(Bucket=BUCKET, Key=batch["manifest_key"])["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(manifest)))
    assert [r["account_id"] for r in rows] == ["debit-postal", "transfer-postal"]
    assert {r["batch_id"] for r in rows} == {"2026-11-02-0001"}
    assert rows[1]["recipient"].endswith("様") and rows[0]["recipient"].endswith("御中")
    assert [(r["envelope"], r["sheet"]) for r in rows] == [("1", "1"), ("2", "2")]
    assert status_of("transfer-postal")["delivery_status"] == "posted"


def test_the_print_run_twice_gives_the_same_batch(delivery):
    delivery.deliver_all()
    first = delivery.print_day("2026-11-02")
    again = delivery.print_day("2026-11-02")
    assert first == again
    versions = boto3.client("s3").list_object_versions(Bucket=BUCKET, Prefix="print-batches/")["Versions"]
    assert len(versions) == 2  # one PDF, one manifest: never a second locked version


def test_no_print_run_on_a_bank_holiday(delivery):
    delivery.deliver_all()
    assert delivery.print_day("2026-11-03")["letters"] == 0  # 文化の日


class TestStatements:
    def test_the_customer_sees_their_statement_with_lines_that_add_up(self, delivery):
        delivery.deliver_all()
        response = customer_api("debit-web", "get_statement.json")
        body = json.loads(response["body"])
        assert response["statusCode"] == 200
        assert body["debit_on"] == "2026-11-27" and "due_on" not in body
        assert sum(line["amount"] for line in body["lines"]) == body["total"] - body["tax"]
        assert body["usage"]["peak"] == ACCOUNTS["debit-web"][3]
        assert body["status"] == "published"

    def test_the_list_is_newest_first_and_shows_due_dates(self, delivery):
        response = customer_api("transfer-web", "list_statements.json")
        statements = json.loads(response["body"])["statements"]
        assert [s["month"] for s in statements] == [MONTH]
        assert statements[0]["due_on"] == "2026-11-30" and statements[0]["currency"] == "JPY"

    def test_the_pdf_link_is_a_short_lived_presigned_redirect(self, delivery):
        response = customer_api("transfer-web", "get_statement_pdf.json")
        assert response["statusCode"] == 302
        assert_answer_documented("GET /v1/statements/{month}/pdf", response)  # no body, no Content-Type
        location = response["headers"]["Location"]
        assert "invoices/2026-10/transfer-web/" in location and "X-Amz-Expires=300" in location

    def test_the_e_invoice_link_is_a_short_lived_redirect_to_the_xml_beside_the_pdf(self, delivery):
        response = customer_api("transfer-web", "get_statement_einvoice.json")
        assert response["statusCode"] == 302
        assert_answer_documented("GET /v1/statements/{month}/einvoice", response)
        location = response["headers"]["Location"]
        assert "invoices/2026-10/transfer-web/INV-202610-" in location and ".xml" in location
        assert "X-Amz-Expires=300" in location
        assert customer_api("someone-else", "get_statement_einvoice.json")["statusCode"] == 404

    def test_another_accounts_month_is_404_not_403(self, delivery):
        response = customer_api("someone-else", "get_statement.json")
        assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (404, "not_found")
        assert customer_api("someone-else", "get_statement_pdf.json")["statusCode"] == 404

    @pytest.mark.parametrize("path", ["/v1/statements/2026-10%2F..", "/v1/statements/2026-1", "/v1/statements/%00"])
    def test_odd_months_are_400(self, delivery, path):
        response = customer_api("transfer-web", "get_statement.json", path=path)
        assert response["statusCode"] in (400, 404)
        assert json.loads(response["body"])["error"]["code"] in ("invalid_request", "not_found")

    def test_a_query_parameter_cannot_pick_an_account(self, delivery):
        response = customer_api("transfer-web", "list_statements.json", query={"account_id": "debit-web"})
        assert response["statusCode"] == 400

    def test_the_page_lists_statements_in_japanese_with_a_chart(self, delivery):
        response = customer_api("debit-web", "statements_page.json")
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"].startswith("text/html")
        html = response["body"]
        assert "ご請求明細" in html and "2026年10月ご利用分" in html and "口座振替日" in html
        assert html.count('class="day peak"') == 1 and 'class="bracket"' in html
        assert "請求書PDFを開く" in html and "X-Amz-Expires=300" in html  # a link that works without a header


def test_a_failed_notice_is_sent_by_the_retry_and_only_once(delivery, monkeypatch):
    deliverer = delivery.deliver_module.deliverer()
    real_send = deliverer.send_email

    def ses_down(email, notice_id):
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(deliverer, "send_email", ses_down)
    with pytest.raises(RuntimeError):
        delivery.deliver("transfer-web")  # EventBridge will retry
    assert sent_emails() == []
    monkeypatch.setattr(deliverer, "send_email", real_send)
    delivery.deliver("transfer-web")
    delivery.deliver("transfer-web")
    assert len(sent_emails()) == 1
    assert "notified_at" in invoices()["transfer-web"]


def test_a_lease_left_by_a_crashed_sender_fails_redeliveries_until_it_lapses_then_the_notice_goes_out(delivery):
    stores = delivery.deliver_module.deliverer().deliveries
    number = invoice_item("debit-web")["invoice_number"]["S"]
    assert stores.take_notice("debit-web", number) is not None  # then the sender died
    with pytest.raises(LeaseBusy):
        delivery.deliver("debit-web")  # a live lease fails the event, so it comes back...
    assert sent_emails() == []
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "ACCOUNT#debit-web"}, "sk": invoice_item("debit-web")["sk"]},
        UpdateExpression="SET notice_lease_until = :old",
        ExpressionAttributeValues={":old": {"S": "2026-11-01T00:00:00+00:00"}},
    )
    delivery.deliver("debit-web")  # ...and once it lapsed, the retry sends the notice
    assert len(sent_emails()) == 1
    item = invoice_item("debit-web")
    assert "notified_at" in item and "notice_lease" not in item  # finished: no lease left behind


def test_the_notice_lease_never_lapses_under_a_live_sender_and_has_lapsed_by_the_first_retry():
    """The bound the retry policy respects: longer than the function may run, shorter than the first retry."""
    function = load_template()["Resources"]["DeliverInvoiceFunction"]["Properties"]
    timeout = function.get("Timeout", load_template()["Globals"]["Function"]["Timeout"])
    assert timeout < NOTICE.ttl.total_seconds() < FIRST_ASYNC_RETRY_S
    retries = function["EventInvokeConfig"]
    assert retries["MaximumRetryAttempts"] >= 1 and "OnFailure" in retries["DestinationConfig"]
