"""Fixing what was issued, under moto: late reports, corrections and return invoices."""

from __future__ import annotations

import json

import boto3

from tests.conftest import load_event
from tests.factories import profile_body
from tests.integration.billing_month import (
    Month,
    archived_versions,
    enable_delivery,
    invoice_item,
    pdf_text,
    sent_emails,
)
from tests.integration.conftest import BUCKET, TABLE, Api
from tests.pint_jp import NO_BUYER_ENDPOINT, failed_asserts

ORIGINAL = "INV-202610-0000001"


def usage(month: Month) -> dict:
    status, body = month.counts.replay("get_usage.json", path="/v1/accounts/acme/usage/2026-10")
    assert status == 200, body
    return body


def document(number: str) -> dict:
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    (item,) = [i for i in items if i.get("invoice_number", {}).get("S") == number and i["sk"]["S"].startswith("INV")]
    return item


def correct(desk: Api, number: str = ORIGINAL, key: str | None = "fix-1", **body) -> tuple[int, dict]:
    body = {"reason": "締め後に届いた件数報告の反映", **body}
    return desk.replay(
        "correct_invoice.json",
        path=f"/v1/invoices/{number}/corrections",
        body=body,
        headers={"idempotency-key": key},
    )


def credit(desk: Api, amount: int, number: str = ORIGINAL, key: str | None = None, reason="障害による返金"):
    return desk.replay(
        "credit_note.json",
        path=f"/v1/invoices/{number}/credit-notes",
        body={"reason": reason, "amount": amount},
        headers={"idempotency-key": key},
    )


class TestLateReports:
    def test_a_late_report_is_refused_kept_and_suggests_a_correction_when_it_changes_the_bracket(self, closed):
        status, body = closed.report("acme", 9_900, "2026-10-20T12:00:00+09:00")  # same bracket: kept only
        assert (status, body["error"]["code"]) == (409, "month_closed")
        assert usage(closed)["late_reports"] == {"count": 1, "peak": 9_900}
        assert usage(closed)["correction_suggested"] is False
        # The correction took the series' next number, but the close run still spans only its own
        status, run = Api("close_runs").replay("get_close_run.json", path="/v1/close-runs/2026-10")
        assert (status, run["status"], run["last_number"]) == (200, "done", ORIGINAL)

        closed.report("acme", 15_000, "2026-10-21T12:00:00+09:00")
        closed.report("acme", 15_000, "2026-10-21T12:00:00+09:00")  # the same report again counts once
        after = usage(closed)
        assert after["late_reports"] == {"count": 2, "peak": 15_000}
        assert (after["peak"], after["correction_suggested"]) == (9_000, True)  # the closed month is as it was
        assert invoice_item("acme", "2026-10")["correction_suggested"] == {"BOOL": True}

    def test_an_accepted_report_still_costs_two_writes_and_a_refused_one_at_most_three(self, closed):
        client = closed.counts.module.usage_store().client
        calls = []
        client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        closed.report("acme", 100, "2026-11-02T10:00:00+09:00")
        assert calls == ["UpdateItem", "UpdateItem"]
        calls.clear()
        closed.report("acme", 50_000, "2026-10-22T10:00:00+09:00")  # refused, kept, flags the invoice
        assert calls == ["UpdateItem", "UpdateItem", "UpdateItem", "UpdateItem"]


class TestCorrections:
    def test_a_late_report_then_the_suggested_correction(self, closed, desk):
        closed.report("acme", 15_000, "2026-10-21T12:00:00+09:00")
        status, body = correct(desk)
        assert status == 201, body
        assert (body["invoice_number"], body["kind"], body["replaces"]) == (
            "INV-202610-0000002",
            "correction",
            ORIGINAL,
        )
        # built from the usage including the late report: the second bracket (standard 7,000 + bridge 3,000)
        assert (body["total"], body["tax"]) == (11_000, 1_000)
        original = document(ORIGINAL)
        assert original["status"]["S"] == "replaced"
        assert original["total"]["N"] == "7700"  # the original record stays as it was
        text = pdf_text(document(body["invoice_number"])["pdf_key"]["S"])
        assert "請 求 書（訂正）" in text
        assert f"{ORIGINAL}（2026年11月1日発行）" in text and "締め後に届いた件数報告の反映" in text
        assert usage(closed)["correction_suggested"] is False
        assert archived_versions() == [  # one version of each file: the PDF and its e-invoice beside it
            "invoices/2026-10/acme/INV-202610-0000001.pdf",
            "invoices/2026-10/acme/INV-202610-0000001.xml",
            "invoices/2026-10/acme/INV-202610-0000002.pdf",
            "invoices/2026-10/acme/INV-202610-0000002.xml",
        ]

    def test_a_retried_correction_makes_no_second_document(self, closed, desk):
        first = correct(desk, key="fix-7")
        again = correct(desk, key="fix-7")
        assert first == again
        without_key = correct(desk, key=None)  # the original is replaced now: act on the latest
        assert (without_key[0], without_key[1]["error"]["code"]) == (409, "invoice_replaced")
        assert len(archived_versions()) == 4  # two documents, each a PDF and an XML

    def test_a_key_reused_for_another_request_is_400(self, closed, desk):
        status, corrected = correct(desk, key="fix-8")
        assert status == 201
        status, body = correct(desk, key="fix-8", reason="別の理由")
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        # The key names that one request, whatever else it is sent with: another invoice, or the other kind
        latest = corrected["invoice_number"]
        for status, body in (correct(desk, number=latest, key="fix-8"), credit(desk, 100, number=latest, key="fix-8")):
            assert (status, body["error"]["code"]) == (400, "invalid_request"), body
            assert "Idempotency-Key" in body["error"]["message"]
        assert correct(desk, key="fix-8") == (201, corrected)  # and the first request's retry still answers it
        assert len(archived_versions()) == 4  # two documents, each a PDF and an XML: nothing else was made

    def test_correcting_a_replaced_invoice_is_409_and_the_correction_can_be_corrected(self, closed, desk):
        _, first = correct(desk, key="a")
        status, body = correct(desk, key="b")
        assert (status, body["error"]["code"]) == (409, "invoice_replaced")
        status, second = correct(desk, number=first["invoice_number"], key="c")
        assert (status, second["invoice_number"], second["replaces"]) == (
            201,
            "INV-202610-0000003",
            first["invoice_number"],
        )

    def test_changes_lay_the_months_terms_over_for_that_month_only(self, closed, desk):
        status, body = correct(desk, changes={"options": []})
        assert (status, body["total"]) == (201, 4_400)  # standard without bridge
        status, body = closed.accounts.replay("get_account.json", query={"month": "2026-10"})
        assert body["options"] == ["bridge"]  # the terms themselves are untouched
        status, refused = correct(desk, number=body and "INV-202610-0000002", key="x", changes={"plan": "gold"})
        assert (status, refused["error"]["code"]) == (400, "invalid_request")

    def test_unknown_and_malformed_numbers(self, closed, desk):
        status, body = correct(desk, number="INV-202610-0000099")
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, body = correct(desk, number="INV-2026100-000001")
        assert (status, body["error"]["code"]) == (400, "invalid_request")


class TestReturnInvoices:
    def test_a_return_invoice_names_the_original_and_shows_the_tax_per_rate(self, closed, desk):
        status, body = credit(desk, 1_100)
        assert status == 201, body
        assert (body["invoice_number"], body["kind"], body["replaces"]) == (
            "CN-202610-0000001",
            "credit_note",
            ORIGINAL,
        )
        assert (body["total"], body["tax"]) == (1_100, 100)
        stored = document("CN-202610-0000001")  # stored with the month's documents, beside the invoice
        assert (stored["kind"]["S"], stored["replaces"]["S"], stored["status"]["S"]) == (
            "credit_note",
            ORIGINAL,
            "issued",
        )
        xml = boto3.client("s3").get_object(Bucket=BUCKET, Key=stored["einvoice_key"]["S"])["Body"].read()
        assert [failed.id for failed in failed_asserts(xml)] == [NO_BUYER_ENDPOINT]  # the official rules; no 法人番号
        assert b'<cbc:PayableAmount currencyID="JPY">-1100</cbc:PayableAmount>' in xml  # a negative invoice
        assert f"<cbc:ID>{ORIGINAL}</cbc:ID>".encode() in xml  # naming the original
        text = pdf_text("invoices/2026-10/acme/CN-202610-0000001.pdf")
        assert "適格返還請求書" in text and ORIGINAL in text and "障害による返金" in text
        assert invoice_item("acme", "2026-10")["status"]["S"] == "issued"  # a return replaces nothing

    def test_returns_never_exceed_the_invoice_and_repeats_are_one(self, closed, desk):
        assert credit(desk, 7_000, key="r1")[0] == 201
        assert credit(desk, 7_000, key="r1")[1]["invoice_number"] == "CN-202610-0000001"  # a retry
        status, body = credit(desk, 701, key="r2")  # 7,700 invoiced, 7,000 returned
        assert (status, body["error"]["code"]) == (409, "credit_exceeds_invoice")
        status, body = credit(desk, 700, key="r3")
        assert (status, body["invoice_number"]) == (201, "CN-202610-0000002")
        assert credit(desk, 1, key="r4")[0] == 409

    def test_bad_amounts_are_400(self, closed, desk):
        for amount in (0, -5, 1.5, "100", True):
            status, body = credit(desk, amount)
            assert (status, body["error"]["code"]) == (400, "invalid_request"), amount

    def test_a_replaced_invoice_cannot_be_returned_against(self, closed, desk):
        correct(desk)
        status, body = credit(desk, 100)
        assert (status, body["error"]["code"]) == (409, "invoice_replaced")


def test_the_sample_events_replay(closed, desk):
    for event in ("credit_note.json", "correct_invoice.json"):  # a return first: a correction replaces the original
        status, body = desk.replay(event)
        assert status == 201, (event, body)
    assert json.loads(load_event("credit_note.json")["body"])["amount"] == 1100


def test_corrections_and_returns_are_delivered_through_the_accounts_channel(closed, desk, monkeypatch):
    # Given a web account's invoice, corrected, and a return against the correction
    enable_delivery(monkeypatch)
    # (October closed before webco existed: its contract starts in November, the first open month)
    web = profile_body(delivery_method="web", contract_start="2026-11-01")
    assert closed.accounts.replay("put_account.json", path="/v1/accounts/webco", body=web)[0] == 201
    closed.report("webco", 5_000, "2026-11-10T12:00:00+09:00")
    closed.run_close("2026-11")
    number = invoice_item("webco", "2026-11")["invoice_number"]["S"]
    _, corrected = correct(desk, number=number, key="w1")
    _, returned = credit(desk, 550, number=corrected["invoice_number"], key="w2")
    # When InvoiceIssued reaches delivery for each (and again: EventBridge redelivers)
    deliverer = Api("deliver_invoice").module.deliverer()
    for document in (corrected["invoice_number"], returned["invoice_number"]) * 2:
        assert deliverer.deliver("webco", document) == "web"
    # Then one notice each, naming what it is, and nothing twice
    notices = [email.body for email in sent_emails()]
    assert len(notices) == 2
    assert "訂正後の請求書" in notices[0] and f"{number} に代わるもの" in notices[0]
    assert "ご返還金額: ¥550 (税込)" in notices[1] and corrected["invoice_number"] in notices[1]
