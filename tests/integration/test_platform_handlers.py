"""The platform API's handlers, replaying events/*.json against moto."""

from __future__ import annotations

import random

import boto3
import jsonschema
import pytest

from tests.conftest import assert_documented
from tests.factories import profile_body
from tests.integration.conftest import TABLE

REPORT = {"count": 12345, "observed_at": "2026-11-25T10:00:00+09:00"}


@pytest.fixture
def account(accounts_api):
    status, _ = accounts_api.replay("put_account.json")
    assert status == 201
    return "acme"


def report(counts_api, count, observed_at, account="acme"):
    return counts_api.replay(
        "record_count.json",
        path=f"/v1/accounts/{account}/record-counts",
        body={"count": count, "observed_at": observed_at},
    )


def usage(counts_api, month="2026-11", account="acme"):
    status, body = counts_api.replay("get_usage.json", path=f"/v1/accounts/{account}/usage/{month}")
    assert status == 200, body
    return body


class TestAccounts:
    def test_put_creates_then_replaces_and_get_returns_the_profile(self, accounts_api):
        assert accounts_api.replay("put_account.json")[0] == 201
        status, body = accounts_api.replay("put_account.json")
        assert status == 200
        assert accounts_api.replay("get_account.json") == (200, body)

    def test_unknown_account_is_404(self, accounts_api):
        status, body = accounts_api.replay("get_account.json", path="/v1/accounts/nobody")
        assert (status, body["error"]["code"]) == (404, "account_not_found")

    def test_malformed_json_is_400_and_stores_nothing(self, accounts_api):
        status, body = accounts_api.replay("put_account.json", body="{not json")
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        assert accounts_api.replay("get_account.json")[0] == 404

    def test_replacing_a_profile_keeps_the_months_counts(self, account, accounts_api, counts_api):
        report(counts_api, 500, "2026-11-02T10:00:00+09:00")
        accounts_api.replay("put_account.json")
        assert usage(counts_api)["last_count"] == 500


class TestRecordCounts:
    def test_the_sample_event_records_a_peak(self, account, counts_api):
        status, body = counts_api.replay("record_count.json")
        assert status == 200
        assert body == {
            "account_id": "acme",
            "month": "2026-11",
            "peak": 12345,
            "peak_observed_at": "2026-11-25T10:00:00+09:00",
            "raised": True,
        }

    def test_a_repeated_report_does_not_raise_again(self, account, counts_api):
        counts_api.replay("record_count.json")
        status, body = counts_api.replay("record_count.json")
        assert (status, body["peak"], body["raised"]) == (200, 12345, False)

    def test_unknown_account_is_404_and_creates_nothing(self, aws, counts_api):
        status, body = report(counts_api, 1, "2026-11-25T10:00:00+09:00", account="ghost")
        assert (status, body["error"]["code"]) == (404, "account_not_found")
        assert boto3.client("dynamodb").scan(TableName=TABLE)["Count"] == 0

    def test_the_usage_keeps_peak_last_and_daily_highs(self, account, counts_api):
        for count, at in [
            (9_000, "2026-11-01T09:00:00+09:00"),
            (25_000, "2026-11-10T12:00:00+09:00"),  # a spike...
            (9_500, "2026-11-10T13:00:00+09:00"),  # ...deleted an hour later
            (9_800, "2026-11-20T09:00:00+09:00"),
        ]:
            assert report(counts_api, count, at)[0] == 200
        body = usage(counts_api)
        assert (body["peak"], body["peak_observed_at"]) == (25_000, "2026-11-10T12:00:00+09:00")
        assert (body["last_count"], body["last_observed_at"]) == (9_800, "2026-11-20T09:00:00+09:00")
        assert body["daily"] == [
            {"date": "2026-11-01", "high": 9_000},
            {"date": "2026-11-10", "high": 25_000},
            {"date": "2026-11-20", "high": 9_800},
        ]
        assert (body["late_reports"], body["correction_suggested"]) == ({"count": 0, "peak": None}, False)
        # Every answer is checked against docs/openapi.json (Api.replay): a key it does not list fails the check
        with pytest.raises(jsonschema.ValidationError, match="internal"):
            assert_documented("GET /v1/accounts/{account_id}/usage/{month}", 200, {**body, "internal": 1})

    def test_out_of_order_and_repeated_reports_give_the_same_month(self, account, counts_api):
        reports = [
            (random.randint(0, 40_000), f"2026-11-{day:02d}T{hour:02d}:00:00+09:00")
            for day in (3, 4)
            for hour in range(0, 24, 3)
        ]
        for count, at in reports:
            report(counts_api, count, at)
        in_order = usage(counts_api)
        shuffled = reports * 2
        random.shuffle(shuffled)
        for count, at in shuffled:
            report(counts_api, count, at)
        assert usage(counts_api) == in_order
        assert in_order["peak"] == max(count for count, _ in reports)

    def test_the_last_count_carries_over_as_the_next_months_opening(self, account, counts_api):
        report(counts_api, 30_000, "2026-10-15T10:00:00+09:00")
        report(counts_api, 8_000, "2026-10-31T23:59:59+09:00")
        body = usage(counts_api, month="2026-11")
        assert (body["opening_count"], body["peak"], body["daily"]) == (8_000, 8_000, [])
        assert body["peak_observed_at"] == "2026-11-01T00:00:00+09:00"

    def test_a_month_with_no_reports_answers_with_zero(self, account, counts_api):
        assert usage(counts_api, month="2026-06")["peak"] == 0

    def test_a_closed_month_refuses_counts(self, account, counts_api):
        close_month_gate("acme", "2026-10")
        status, body = report(counts_api, 1, "2026-10-31T23:00:00+09:00")
        assert (status, body["error"]["code"]) == (409, "month_closed")
        assert report(counts_api, 1, "2026-11-01T00:00:00+09:00")[0] == 200

    def test_counts_after_the_contract_ended_are_refused(self, accounts_api, counts_api):
        accounts_api.replay("put_account.json", body=profile_body())
        cancellation = {"received_on": "2026-09-01", "end_month": "2026-10"}
        assert accounts_api.replay("cancel_account.json", body=cancellation)[0] == 201
        assert report(counts_api, 5, "2026-10-31T23:59:00+09:00")[0] == 200
        status, body = report(counts_api, 5, "2026-11-01T00:00:00+09:00")
        assert (status, body["error"]["code"]) == (409, "account_cancelled")

    def test_a_report_costs_at_most_two_writes_and_no_read(self, account, counts_api):
        calls = []
        client = counts_api.module.usage_store().client
        client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        report(counts_api, 100, "2026-11-02T10:00:00+09:00")
        report(counts_api, 50, "2026-11-02T09:00:00+09:00")  # neither a new high nor a new last
        assert calls == ["UpdateItem"] * 4


class TestBatch:
    def test_one_bad_report_never_fails_the_others(self, account, counts_api):
        status, body = counts_api.replay("record_counts_batch.json")
        assert status == 200
        assert [r["status"] for r in body["results"]] == [200, 200, 400]
        assert body["results"][2]["error"]["code"] == "invalid_request"
        assert body["results"][1]["peak"] == 12_500
        assert usage(counts_api)["peak"] == 12_500

    @pytest.mark.parametrize("reports", [[], [REPORT | {"account_id": "acme"}] * 101, "x", None])
    def test_a_batch_outside_1_to_100_reports_is_refused_whole(self, account, counts_api, reports):
        status, body = counts_api.replay("record_counts_batch.json", body={"reports": reports})
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        assert usage(counts_api)["peak"] == 0

    def test_unknown_accounts_fail_only_their_own_report(self, account, counts_api):
        body = {"reports": [REPORT | {"account_id": "ghost"}, REPORT | {"account_id": "acme"}]}
        _, result = counts_api.replay("record_counts_batch.json", body=body)
        assert [(r["account_id"], r["status"]) for r in result["results"]] == [("ghost", 404), ("acme", 200)]


def close_month_gate(account_id: str, month: str) -> None:
    """Stand-in for the month close (another issue): mark the month closed on the profile."""
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET closed_through = :m",
        ExpressionAttributeValues={":m": {"S": month}},
    )
