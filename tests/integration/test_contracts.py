"""Contracts over time under moto: terms by month, PUT as create-only, cancellation and the final invoice."""

from __future__ import annotations

import re

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.factories import profile_body
from tests.integration.billing_month import Month, invoice_item, pdf_text
from tests.integration.conftest import Api

PUT_BODY = profile_body()  # put_account.json's body: standard + bridge from 2026-04 (6-month term)


@pytest.fixture
def month(aws):
    month = Month()
    assert month.accounts.replay("put_account.json")[0] == 201
    month.report("acme", 12_000, "2026-10-10T12:00:00+09:00")
    return month


@pytest.fixture
def changes_api(aws) -> Api:
    return Api("change_requests")


def invoice(account: str, billing_month: str) -> dict | None:
    return invoice_item(account, billing_month)


def plan_and_lines(item: dict) -> tuple[str, list[str]]:
    return item["plan"]["S"], [line["M"]["code"]["S"] for line in item["lines"]["L"]]


def change(changes_api, changes: dict, effective_month: str | None = None) -> tuple[int, dict]:
    """Request and confirm a change with the emailed token, as the billing contact would."""
    body = {"changes": changes} | ({"effective_month": effective_month} if effective_month else {})
    status, requested = changes_api.replay("request_change.json", body=body)
    if status != 201:
        return status, requested
    email = ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sent_messages[-1]
    token = re.search(r"確認コード: (\S+)", email.body).group(1)
    return changes_api.replay(
        "confirm_change.json",
        path=f"/v1/change-requests/{requested['change_request_id']}/confirm",
        body={"token": token},
    )


def account(month: Month, query: dict | None = None) -> dict:
    status, body = month.accounts.replay("get_account.json", **({"query": query} if query else {}))
    assert status == 200, body
    return body


def cancel(month: Month, **body) -> tuple[int, dict]:
    return month.accounts.replay("cancel_account.json", body=body)


def withdraw(month: Month) -> tuple[int, dict]:
    return month.accounts.replay("withdraw_cancellation.json")


class TestPutCreatesOnly:
    def test_the_same_body_again_is_a_safe_retry(self, month):
        status, body = month.accounts.replay("put_account.json")
        assert (status, body["plan"], body["scheduled_changes"]) == (200, "standard", [])

    def test_other_terms_are_409_and_change_nothing(self, month):
        for changed in ({"plan": "premium"}, {"billing_contact": {**PUT_BODY["billing_contact"], "address": "大阪"}}):
            status, body = month.accounts.replay("put_account.json", body={**PUT_BODY, **changed})
            assert (status, body["error"]["code"]) == (409, "change_request_required")
        assert account(month)["plan"] == "standard"
        assert account(month)["billing_contact"]["address"] == PUT_BODY["billing_contact"]["address"]

    def test_contract_end_is_not_a_put_field(self, month):
        status, body = month.accounts.replay("put_account.json", body={**PUT_BODY, "contract_end": "2026-12-31"})
        assert (status, body["error"]["code"]) == (400, "invalid_request")


class TestTermsByMonth:
    def test_a_plan_change_for_next_month_leaves_this_months_invoice_alone(self, month, changes_api):
        status, applied = change(changes_api, {"plan": "premium", "options": ["bridge", "dedicated_ip"]}, "2026-11")
        assert (status, applied["effective_month"]) == (200, "2026-11")
        assert account(month, {"month": "2026-10"})["plan"] == "standard"
        assert account(month, {"month": "2026-11"})["options"] == ["bridge", "dedicated_ip"]
        october = account(month, {"month": "2026-10"})
        assert october["scheduled_changes"] == [
            {"effective_month": "2026-11", "changes": {"plan": "premium", "options": ["bridge", "dedicated_ip"]}}
        ]

        month.run_close("2026-10")
        month.run_close("2026-11")
        assert plan_and_lines(invoice("acme", "2026-10")) == ("standard", ["plan:standard", "option:bridge"])
        assert plan_and_lines(invoice("acme", "2026-11")) == (
            "premium",
            ["plan:premium", "option:bridge", "option:dedicated_ip"],
        )

    def test_a_change_for_a_closed_month_is_refused(self, month, changes_api):
        month.run_close("2026-10")
        status, body = change(changes_api, {"delivery_method": "web"}, "2026-10")
        assert (status, body["error"]["code"]) == (409, "month_closed")

    def test_a_change_waiting_across_the_close_takes_effect_in_the_first_open_month(self, month, changes_api):
        body = {"changes": {"delivery_method": "web"}, "effective_month": "2026-10"}
        status, requested = changes_api.replay("request_change.json", body=body)
        assert status == 201
        token = re.search(
            r"確認コード: (\S+)", ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sent_messages[-1].body
        ).group(1)
        month.run_close("2026-10")  # the customer confirms only after October closed
        status, applied = changes_api.replay(
            "confirm_change.json",
            path=f"/v1/change-requests/{requested['change_request_id']}/confirm",
            body={"token": token},
        )
        assert (status, applied["effective_month"]) == (200, "2026-11")
        assert invoice("acme", "2026-10")["delivery_method"]["S"] == "postal"
        assert account(month, {"month": "2026-11"})["delivery_method"] == "web"

    def test_a_plan_the_tariff_does_not_sell_for_the_month_is_400(self, month, changes_api):
        status, body = change(changes_api, {"plan": "enterprise"}, "2026-11")
        assert (status, body["error"]["code"]) == (400, "invalid_request")

    def test_a_bad_month_query_is_400(self, month):
        for bad in ("2026-13", "２０２６-１１", "2026-11\n"):
            status, body = month.accounts.replay("get_account.json", query={"month": bad})
            assert (status, body["error"]["code"]) == (400, "invalid_request"), bad


class TestCancellation:
    def test_too_early_is_409_naming_the_earliest_end_month(self, month):
        status, body = cancel(month, received_on="2026-11-20", end_month="2026-11")
        assert (status, body["error"]["code"]) == (409, "cancellation_too_early")
        assert "2026-12" in body["error"]["message"]
        assert "contract_end" not in account(month)

    def test_inside_the_minimum_term_the_end_is_the_terms_last_month(self, month):
        status, body = cancel(month, received_on="2026-05-10")
        assert (status, body["earliest_end_month"], body["end_month"]) == (201, "2026-09", "2026-09")

    def test_on_time_then_repeated_then_different(self, month):
        status, body = cancel(month, received_on="2026-11-20")
        assert (status, body) == (
            201,
            {
                "account_id": "acme",
                "received_on": "2026-11-20",
                "earliest_end_month": "2026-12",
                "end_month": "2026-12",
                "contract_end": "2026-12-31",
            },
        )
        assert account(month)["contract_end"] == "2026-12-31"
        assert cancel(month, received_on="2026-11-20", end_month="2026-12") == (200, body)
        status, refused = cancel(month, received_on="2026-11-20", end_month="2027-02")
        assert (status, refused["error"]["code"]) == (409, "already_cancelled")

    def test_a_receipt_in_the_future_or_before_the_start_is_400(self, month):
        for received_on in ("2099-01-01", "2026-03-31", "2026-02-30"):
            status, body = cancel(month, received_on=received_on)
            assert (status, body["error"]["code"]) == (400, "invalid_request"), received_on

    def test_the_last_month_is_billed_as_final_then_the_account_is_skipped_and_counts_refused(self, month):
        assert cancel(month, received_on="2026-09-15", end_month="2026-10")[0] == 201
        month.run_close("2026-10")
        final = invoice("acme", "2026-10")
        assert final["final"] == {"BOOL": True}
        assert "最終請求" in pdf_text(final["pdf_key"]["S"])

        status, body = month.report("acme", 10, "2026-11-02T10:00:00+09:00")
        assert (status, body["error"]["code"]) == (409, "account_cancelled")
        month.run_close("2026-11")
        assert invoice("acme", "2026-11") is None
        assert month.close.stores.close_runs().get("2026-11")["total"] == 0  # no number was reserved for it

    def test_withdrawn_while_open_bills_on_and_withdrawn_too_late_is_409(self, month):
        assert cancel(month, received_on="2026-09-15", end_month="2026-10")[0] == 201
        status, body = withdraw(month)
        assert (status, body["end_month"]) == (200, "2026-10")
        assert "contract_end" not in account(month)
        assert month.report("acme", 10, "2026-11-02T10:00:00+09:00")[0] == 200
        status, body = withdraw(month)
        assert (status, body["error"]["code"]) == (404, "not_found")

        assert cancel(month, received_on="2026-09-15", end_month="2026-10")[0] == 201
        month.run_close("2026-10")
        assert invoice("acme", "2026-10")["final"] == {"BOOL": True}
        status, body = withdraw(month)
        assert (status, body["error"]["code"]) == (409, "month_closed")
        assert account(month)["contract_end"] == "2026-10-31"

    def test_an_unknown_account_is_404(self, aws):
        status, body = Api("accounts").replay("cancel_account.json", path="/v1/accounts/ghost/cancellation")
        assert (status, body["error"]["code"]) == (404, "account_not_found")
