"""洗い替え detection off the count path: real count writes, the table's stream, the usage watch's handler."""

from __future__ import annotations

import json

import pytest

from billing.dal.churn import readings_changed
from tests.conftest import LambdaContext, load_event
from tests.integration.conftest import Api, tap_bus
from tests.integration.stream import Stream


@pytest.fixture
def announced(aws):
    """Every ChurnSuspected event put on the invoicing bus, read from a queue a rule feeds."""
    tap = tap_bus("churn", ["ChurnSuspected"])
    return lambda: [event["detail"] for event in tap()]


def put_account(accounts_api, account):
    event = load_event("put_account.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/accounts/{account}"
    event["pathParameters"] = {"account_id": account}
    response = accounts_api.module.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 201, response


def report(counts_api, account, count, observed_at):
    status, body = counts_api.replay(
        "record_count.json",
        path=f"/v1/accounts/{account}/record-counts",
        body={"count": count, "observed_at": observed_at},
    )
    assert status == 200, body


def usage(counts_api, account, month="2026-11"):
    status, body = counts_api.replay("get_usage.json", path=f"/v1/accounts/{account}/usage/{month}")
    assert status == 200, body
    return body


def churn_events(counts_api, month="2026-11"):
    event = load_event("list_churn_events.json")
    event["queryStringParameters"] = {"month": month}
    event["rawQueryString"] = f"month={month}"
    response = counts_api.module.lambda_handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


EPISODE = {
    "dropped_at": "2026-11-10T10:00:00+09:00",
    "from": 20_000,
    "to": 500,
    "recovered_at": "2026-11-10T13:00:00+09:00",
    "back_to": 19_800,
}


@pytest.fixture
def watch(aws):
    return Api("usage_watch").module


@pytest.fixture
def reported(accounts_api, counts_api):
    """acme deletes everything and registers it again; steady only dips."""
    put_account(accounts_api, "acme")
    put_account(accounts_api, "steady")
    for account, counts in (("acme", (20_000, 500, 19_800)), ("steady", (20_000, 17_000, 20_000))):
        for hour, count in zip((9, 10, 13), counts, strict=True):
            report(counts_api, account, count, f"2026-11-10T{hour:02d}:00:00+09:00")
    return counts_api


def test_the_stream_of_count_writes_yields_exactly_the_churn_episode(reported, watch, announced):
    # Given the stream of the reports' writes
    batch = Stream().batch()
    # When the stream consumer handles it
    result = watch.lambda_handler(batch, LambdaContext())
    # Then nothing failed, one episode is listed for the month, and it was announced once
    assert result == {"batchItemFailures": []}
    assert churn_events(reported) == (200, {"month": "2026-11", "churn_events": [{"account_id": "acme", **EPISODE}]})
    details = announced()
    assert [d["account_id"] for d in details] == ["acme"]
    assert details[0] == {"episode_id": details[0]["episode_id"], "account_id": "acme", "month": "2026-11", **EPISODE}


def test_a_redelivered_batch_stores_and_announces_nothing_again(reported, watch, announced):
    batch = Stream().batch()
    watch.lambda_handler(batch, LambdaContext())
    assert len(announced()) == 1
    # When Lambda hands the same batch over again (a retry after a timeout)
    assert watch.lambda_handler(batch, LambdaContext()) == {"batchItemFailures": []}
    # Then the episode is still one, and no second ChurnSuspected went out
    assert len(churn_events(reported)[1]["churn_events"]) == 1
    assert announced() == []


def test_a_crash_before_the_state_moved_finds_the_same_episode_without_a_second_announcement(
    reported, watch, announced, monkeypatch
):
    batch = Stream().batch()
    store = watch.churn_watch().store
    real_save = store.save_state

    def crash_on_the_recovery(before, after):
        if after.last.count == 19_800:
            raise RuntimeError("crash")
        return real_save(before, after)

    monkeypatch.setattr(store, "save_state", crash_on_the_recovery)
    # When the consumer fails after announcing but before advancing the state
    assert watch.lambda_handler(batch, LambdaContext())["batchItemFailures"]
    assert len(announced()) == 1
    # Then the retry stores nothing new and announces nothing again
    monkeypatch.setattr(store, "save_state", real_save)
    assert watch.lambda_handler(batch, LambdaContext()) == {"batchItemFailures": []}
    assert len(churn_events(reported)[1]["churn_events"]) == 1
    assert announced() == []


def test_a_failed_account_is_retried_from_its_first_record_and_found_once(reported, watch, announced, monkeypatch):
    batch = Stream().batch()
    store = watch.churn_watch().store
    real_state = store.state

    def throttled_for_acme(account_id):
        if account_id == "acme":
            raise RuntimeError("throttled")
        return real_state(account_id)

    # Given the first try of the batch fails for acme (the churned account) only
    monkeypatch.setattr(store, "state", throttled_for_acme)
    result = watch.lambda_handler(batch, LambdaContext())
    # Then the batch reports acme's first record, so the stream hands back everything from it, in order
    sequence = [record["dynamodb"]["SequenceNumber"] for record in batch["Records"]]
    acme_records = [
        r["dynamodb"]["SequenceNumber"] for r in batch["Records"] if (readings_changed(r) or ("",))[0] == "acme"
    ]
    assert result == {"batchItemFailures": [{"itemIdentifier": acme_records[0]}]}
    assert churn_events(reported)[1]["churn_events"] == []
    # When the stream retries from there with the store back
    monkeypatch.setattr(store, "state", real_state)
    retry = {"Records": batch["Records"][sequence.index(acme_records[0]) :]}
    assert watch.lambda_handler(retry, LambdaContext()) == {"batchItemFailures": []}
    # Then the episode is found once and announced once
    assert [e["account_id"] for e in churn_events(reported)[1]["churn_events"]] == ["acme"]
    assert len(announced()) == 1


def test_the_usage_shows_the_months_churn_events_and_the_peaks_bracket(reported, watch):
    watch.lambda_handler(Stream().batch(), LambdaContext())
    body = usage(reported, "acme")
    assert body["churn_events"] == [EPISODE]
    assert body["bracket"] == {"index": 2, "from": 10_001, "to": 20_000}
    assert usage(reported, "steady")["churn_events"] == []
    assert usage(reported, "acme", month="2026-12")["churn_events"] == []


def test_reading_the_usage_costs_one_query_for_churn_events(reported, watch):
    client = reported.module.usage_store().client
    calls = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    usage(reported, "acme")
    # The profile and the usage item (the account was never closed and reported nothing before the month, so its
    # opening is 0 with no Query), then the one Query of the month's episodes
    assert calls == ["GetItem", "GetItem", "Query"]


def test_the_month_query_parameter_is_required_and_checked(reported):
    assert churn_events(reported, month="2026-13")[0] == 400
    event = load_event("list_churn_events.json")
    event["queryStringParameters"], event["rawQueryString"] = None, ""
    response = reported.module.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 400


def test_a_report_still_costs_two_writes_and_no_read(reported):
    client = reported.module.usage_store().client
    calls = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    report(reported, "acme", 21_000, "2026-11-11T09:00:00+09:00")
    assert calls == ["UpdateItem", "UpdateItem"]
