"""Usage alerts under moto: real count reports, the table's stream, the usage watch, SES and the bus."""

from __future__ import annotations

import pytest

from billing.dal.usage_alerts import peak_rise
from tests.conftest import LambdaContext
from tests.factories import profile_body
from tests.integration.billing_month import Month, sent_emails
from tests.integration.conftest import Api, tap_bus
from tests.integration.stream import Stream

SUBJECT_CROSSED = "ご利用件数が次の料金帯に入りました (2026年11月ご利用分)"
SUBJECT_APPROACHING = "ご利用件数が次の料金帯に近づいています (2026年11月ご利用分)"


@pytest.fixture
def month(aws):
    month = Month()
    assert month.accounts.replay("put_account.json")[0] == 201  # acme: standard + bridge, alerts on by default
    return month


@pytest.fixture
def watch(aws):
    return Api("usage_watch").module


@pytest.fixture
def events(aws):
    tap = tap_bus("alerts", ["UsageBracketCrossed", "UsageBracketApproaching"])
    return lambda: [(event["detail-type"], event["detail"]) for event in tap()]


def report(month: Month, count: int, observed_at: str, account: str = "acme") -> None:
    status, body = month.report(account, count, observed_at)
    assert status == 200, body


def usage(month: Month, billing_month: str = "2026-11", account: str = "acme") -> dict:
    status, body = month.counts.replay("get_usage.json", path=f"/v1/accounts/{account}/usage/{billing_month}")
    assert status == 200, body
    return body


def alerts(body: dict) -> list[tuple[str, int]]:
    return [(alert["kind"], alert["bracket"]) for alert in body["alerts"]]


def subjects() -> list[str]:
    return [email.subject.split("】", 1)[1] for email in sent_emails() if "料金帯" in email.subject]


def handle(watch, batch: dict) -> None:
    assert watch.lambda_handler(batch, LambdaContext()) == {"batchItemFailures": []}


def test_approaching_then_crossing_sends_both_alerts_once_each(month, watch, events):
    # Given acme's peak nears the top of its first bracket, then passes it, over three days
    report(month, 8_000, "2026-11-02T09:00:00+09:00")
    report(month, 9_100, "2026-11-03T14:05:00+09:00")
    report(month, 10_500, "2026-11-04T10:00:00+09:00")
    stream = Stream()
    batch = stream.batch()
    # When the usage watch handles the stream's batch
    handle(watch, batch)
    # Then the billing contact has one email for each, and the bus one event for each
    assert subjects() == [SUBJECT_CROSSED]  # the batch folds the month's rise: 8,000 to 10,500 enters bracket 2
    assert [kind for kind, _ in events()] == ["UsageBracketCrossed"]
    # And the same batch again (a retry) sends nothing
    handle(watch, batch)
    assert len(subjects()) == 1 and events() == []


def test_each_rise_handled_as_it_comes_warns_then_tells(month, watch, events):
    stream = Stream()
    report(month, 8_000, "2026-11-02T09:00:00+09:00")
    report(month, 9_100, "2026-11-03T14:05:00+09:00")
    handle(watch, stream.batch())
    report(month, 10_500, "2026-11-04T10:00:00+09:00")
    handle(watch, stream.batch())
    assert subjects() == [SUBJECT_APPROACHING, SUBJECT_CROSSED]
    crossed = next(email for email in sent_emails() if SUBJECT_CROSSED in email.subject)
    assert crossed.destinations["ToAddresses"] == ["billing@example.co.jp"]
    assert "2026年11月4日 10:00に10,500件となり、10,001〜20,000件の料金帯に入りました" in crossed.body
    assert "¥11,000 (税込)" in crossed.body and "後から件数を削除されても" in crossed.body
    (approaching_type, _approaching), (crossed_type, detail) = events()
    assert (approaching_type, crossed_type) == ("UsageBracketApproaching", "UsageBracketCrossed")
    assert detail == {
        "alert_id": "usage-acme-2026-11-crossed-2",
        "account_id": "acme",
        "month": "2026-11",
        "kind": "crossed",
        "bracket": {"index": 2, "from": 10_001, "to": 20_000},
        "peak": 10_500,
        "peak_observed_at": "2026-11-04T10:00:00+09:00",
        "estimate": {"subtotal": 10_000, "tax": 1_000, "total": 11_000},
    }
    # And the usage API lists both, with the estimate, from the reads it made anyway
    body = usage(month)
    assert alerts(body) == [("approaching", 2), ("crossed", 2)]
    assert body["estimate"] == {"subtotal": 10_000, "tax": 1_000, "total": 11_000}


def test_a_rise_across_two_brackets_is_one_crossed_for_the_highest(month, watch, events):
    report(month, 5_000, "2026-11-02T09:00:00+09:00")
    report(month, 35_000, "2026-11-02T10:00:00+09:00")
    handle(watch, Stream().batch())
    assert subjects() == [SUBJECT_CROSSED]
    assert [(kind, detail["bracket"]["index"]) for kind, detail in events()] == [("UsageBracketCrossed", 4)]


def test_reports_out_of_order_and_a_stream_handled_out_of_order_never_warn_of_a_bracket_entered(month, watch, events):
    # Given the later, higher count arrives first, and then an earlier one near the first bracket's top
    report(month, 10_500, "2026-11-04T10:00:00+09:00")
    report(month, 9_100, "2026-11-03T14:05:00+09:00")
    records = Stream().batch()["Records"]
    rises = [record for record in records if peak_rise(record)]
    assert len(rises) == 1  # the earlier count set its day's high, but not the month's peak
    handle(watch, {"Records": records})
    assert subjects() == [SUBJECT_CROSSED]
    # And when a rise towards bracket 2 is handled after bracket 2 was entered (a retried older record)
    report(month, 9_200, "2026-11-01T08:00:00+09:00", account="acme")
    older = {"Records": [rises[0]]}
    handle(watch, older)
    assert subjects() == [SUBJECT_CROSSED] and alerts(usage(month)) == [("crossed", 2)]


def test_no_alert_for_the_bracket_the_month_opened_in(month, watch, events):
    # Given October ends at 25,000 (bracket 3), which November opens with
    report(month, 25_000, "2026-10-20T09:00:00+09:00")
    stream = Stream()
    handle(watch, stream.batch())
    events()
    october = len(subjects())
    # When November's peak rises within bracket 3, then near its top, then into bracket 4
    report(month, 26_000, "2026-11-02T09:00:00+09:00")
    handle(watch, stream.batch())
    assert len(subjects()) == october  # nothing for bracket 3
    report(month, 27_500, "2026-11-03T09:00:00+09:00")
    handle(watch, stream.batch())
    report(month, 30_001, "2026-11-04T09:00:00+09:00")
    handle(watch, stream.batch())
    assert alerts(usage(month)) == [("approaching", 4), ("crossed", 4)]
    assert usage(month)["opening_count"] == 25_000


def test_an_account_with_alerts_off_hears_nothing(month, watch, events):
    body = profile_body(usage_alerts=False)
    assert month.accounts.replay("put_account.json", path="/v1/accounts/quiet", body=body)[0] == 201
    report(month, 12_000, "2026-11-02T09:00:00+09:00", account="quiet")
    handle(watch, Stream().batch())
    assert subjects() == [] and events() == []
    assert usage(month, account="quiet")["alerts"] == []


def test_a_cancelled_account_hears_nothing_after_its_end(month, watch, events):
    # Given acme's contract ends with November
    status, body = month.accounts.replay(
        "cancel_account.json", body={"received_on": "2026-10-01", "end_month": "2026-11"}
    )
    assert status == 201, body
    # When a count comes after the end, it is refused and sets off nothing
    assert month.report("acme", 12_000, "2026-12-02T09:00:00+09:00")[0] == 409
    handle(watch, Stream().batch())
    assert subjects() == [] and events() == []
    # While one within the contract is still told
    report(month, 12_000, "2026-11-30T23:00:00+09:00")
    handle(watch, Stream().batch())
    assert subjects() == [SUBJECT_CROSSED]


def test_the_estimate_uses_the_months_own_terms_when_the_plan_changes_next_month(month, watch):
    from tests.integration.test_contracts import change

    report(month, 10_500, "2026-11-04T10:00:00+09:00")
    status, applied = change(Api("change_requests"), {"plan": "premium"}, "2026-12")
    assert (status, applied["effective_month"]) == (200, "2026-12")
    # November is billed as standard (7,000 for bracket 2) + bridge; December as premium (12,000) + bridge
    assert usage(month)["estimate"] == {"subtotal": 10_000, "tax": 1_000, "total": 11_000}
    report(month, 10_500, "2026-12-01T10:00:00+09:00")
    assert usage(month, "2026-12")["estimate"] == {"subtotal": 15_000, "tax": 1_500, "total": 16_500}


def test_a_batch_of_100_readings_reads_once_per_account_that_may_be_alerted_and_writes_once_per_alert_step(
    month, watch
):
    # Given 20 accounts and 100 readings: 10 stay low, 5 cross into bracket 2, 5 would but turned alerts off
    stream = Stream()
    accounts = {f"low-{n}": (True, 1_000) for n in range(10)}
    accounts |= {f"up-{n}": (True, 8_000) for n in range(5)} | {f"off-{n}": (False, 8_000) for n in range(5)}
    for account, (alerts_on, _) in accounts.items():
        body = profile_body(usage_alerts=alerts_on)
        assert month.accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)[0] == 201
    stream.batch()  # the accounts' creation, as a batch of its own
    for account, (_, start) in accounts.items():
        for step in range(5):
            report(month, start + step * 1_000, f"2026-11-0{step + 1}T09:00:00+09:00", account=account)
    batch = stream.batch()
    assert sum(1 for record in batch["Records"] if peak_rise(record)) == 100
    calls: list[tuple[str, str]] = []

    def count(params, model, **_):
        key = params.get("Key", {}).get("sk", {}).get("S", "") if isinstance(params, dict) else ""
        calls.append((model.name, key.split("#")[0]))

    client = watch.usage_alert_watch().store.client
    client.meta.events.register("before-parameter-build.dynamodb", count)
    # When the usage watch handles it
    handle(watch, batch)
    # Then the alerts read one profile per account whose month rose through a threshold, and nothing else
    assert calls.count(("GetItem", "PROFILE")) == 10 and not [c for c in calls if c[0] == "Query"]
    # And each alert sent is one conditional write to claim it and one to mark it sent; none for those turned off
    assert calls.count(("UpdateItem", "USAGE")) == 2 * 5
    assert len(subjects()) == 5


def test_a_send_cut_short_after_the_claim_is_sent_when_the_stream_retries(month, watch, events, monkeypatch):
    report(month, 10_500, "2026-11-04T10:00:00+09:00")
    batch = Stream().batch()
    alert_watch = watch.usage_alert_watch()
    real_send = alert_watch.send

    def ses_down(*args):
        raise RuntimeError("SES throttled")

    # Given the alert is claimed, and then its sending fails
    monkeypatch.setattr(alert_watch, "send", ses_down)
    failures = watch.lambda_handler(batch, LambdaContext())["batchItemFailures"]
    assert failures and subjects() == [] and usage(month)["alerts"] == []
    # When the stream hands the batch back from the failed record, with SES back
    monkeypatch.setattr(alert_watch, "send", real_send)
    sequence = [record["dynamodb"]["SequenceNumber"] for record in batch["Records"]]
    handle(watch, {"Records": batch["Records"][sequence.index(failures[0]["itemIdentifier"]) :]})
    # Then it is sent, once, and listed
    assert subjects() == [SUBJECT_CROSSED] and len(events()) == 1
    assert alerts(usage(month)) == [("crossed", 2)]


def test_a_warning_claimed_and_unsent_is_not_sent_once_the_bracket_was_entered(month, watch, events, monkeypatch):
    # Given the warning of bracket 2 is claimed, and its sending fails
    stream = Stream()
    report(month, 8_000, "2026-11-02T09:00:00+09:00")
    report(month, 9_500, "2026-11-03T09:00:00+09:00")
    first = stream.batch()
    alert_watch = watch.usage_alert_watch()
    real_send = alert_watch.send
    monkeypatch.setattr(alert_watch, "send", lambda *args: (_ for _ in ()).throw(RuntimeError("SES throttled")))
    assert watch.lambda_handler(first, LambdaContext())["batchItemFailures"]
    # When the retry comes with the next report, which enters bracket 2
    monkeypatch.setattr(alert_watch, "send", real_send)
    report(month, 10_500, "2026-11-04T09:00:00+09:00")
    handle(watch, {"Records": first["Records"] + stream.batch()["Records"]})
    assert subjects() == [SUBJECT_CROSSED]
    # And the older rise towards bracket 2 is handed over again on its own (a replay)
    handle(watch, first)
    # Then the warning of a bracket already entered is never sent
    assert subjects() == [SUBJECT_CROSSED] and alerts(usage(month)) == [("crossed", 2)]
    assert [kind for kind, _ in events()] == ["UsageBracketCrossed"]


def test_no_estimate_for_a_month_the_contract_does_not_cover(month):
    # Given acme's contract (from 2026-04) ends with November
    status, body = month.accounts.replay(
        "cancel_account.json", body={"received_on": "2026-10-01", "end_month": "2026-11"}
    )
    assert status == 201, body
    report(month, 12_000, "2026-11-20T09:00:00+09:00")
    # Then its last month is estimated as it will be billed, and the months outside the contract at nothing
    assert usage(month)["estimate"] == {"subtotal": 10_000, "tax": 1_000, "total": 11_000}
    for outside in ("2026-12", "2026-03", "2023-12"):  # after the end, before the start, before any tariff
        assert usage(month, outside)["estimate"] == {"subtotal": 0, "tax": 0, "total": 0}
