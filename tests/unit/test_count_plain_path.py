"""The count function's plain path answers a report exactly as the typed resolver would, or declines.

The plain path (``plain_answer``) keeps pydantic and Powertools' event handler
out of the count function's cold start. It must never answer differently:
for every request it accepts, the typed resolver gives the same bytes, and
everything it declines is left for the typed resolver to judge.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.errors import AccountNotFound, MonthClosed
from billing.usage import counts as count_rules
from tests.conftest import LambdaContext, load_event, load_function

REPORT = {"count": 12345, "observed_at": "2026-11-25T10:00:00+09:00"}
BATCH_REPORT = {"account_id": "acme", **REPORT}


class FakeUsage:
    """Answers like UsageStore.record: a result from the report alone, or a refusal for some account ids."""

    def __init__(self):
        self.recorded = []

    def record(self, report) -> dict:
        self.recorded.append(report)
        if report.account_id == "ghost":
            raise AccountNotFound(report.account_id)
        if report.account_id == "closed":
            raise MonthClosed(report.month)
        return {
            "account_id": report.account_id,
            "month": report.month,
            "peak": report.count,
            "peak_observed_at": report.observed_at.isoformat(),
            "raised": report.count % 2 == 0,
        }


@pytest.fixture(scope="module")
def counts():
    return load_function("record_counts")


class StoppedClock(datetime):
    """Both paths read the same server time, so a report from the future is refused in the same words."""

    STOPPED = datetime.now(UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.STOPPED.astimezone(tz)


@pytest.fixture
def usage(counts, monkeypatch):
    store = FakeUsage()
    monkeypatch.setattr(counts, "usage_store", lambda: store)
    monkeypatch.setattr(count_rules, "datetime", StoppedClock)
    return store


def single(body: object, account_id: str = "acme", **changes) -> dict:
    event = load_event("record_count.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/accounts/{account_id}/record-counts"
    event["pathParameters"] = {"account_id": account_id}
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    event.update(changes)
    return event


def batch(body: object, **changes) -> dict:
    event = load_event("record_counts_batch.json")
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    event.update(changes)
    return event


def both(counts, usage, event: dict) -> tuple[dict | None, dict]:
    usage.recorded.clear()
    counts.metrics.clear_metrics()  # Powertools keeps them per process (and flushes at 100 values)
    plain = counts.plain_answer(copy.deepcopy(event))
    plain_calls = len(usage.recorded)
    typed = counts.typed_app().resolve(copy.deepcopy(event), LambdaContext())
    if plain is None:
        assert plain_calls == 0, "the plain path declined after recording"
    return plain, typed


@pytest.mark.parametrize(
    "event",
    [
        single(REPORT),
        single({"observed_at": "2026-11-25T01:00:00Z", "count": 0}),
        single({**REPORT, "observed_at": "2026-11-25T10:00+09:00"}),
        single({**REPORT, "observed_at": "2026-11-25T10:00:00.123456-05:30"}),
        single(REPORT, account_id="A_b-9" * 12 + "abcd"),
        single(REPORT, account_id="ghost"),
        single(REPORT, account_id="closed"),
        single({**REPORT, "count": 1_000_000_000}),
        single(json.dumps(REPORT, indent=2)),
        single(REPORT, headers={"content-type": "application/json; charset=utf-8"}),
        single(REPORT, headers={"content-type": 'Application/JSON; Charset="UTF-8"'}),  # case-insensitive
        batch({"reports": [BATCH_REPORT]}),
        batch({"reports": [BATCH_REPORT, {**BATCH_REPORT, "account_id": "ghost"}, {**BATCH_REPORT, "count": 8}]}),
        batch({"reports": [{**BATCH_REPORT, "account_id": "closed"}] * 100}),
    ],
)
def test_a_well_formed_report_gets_the_typed_resolvers_answer_without_it(counts, usage, event):
    # Given a well-formed report, When both paths answer it
    plain, typed = both(counts, usage, event)
    # Then the plain path took it, and its answer is the typed resolver's, byte for byte
    assert plain is not None
    assert plain == typed


@pytest.mark.parametrize(
    "event",
    [
        single({**REPORT, "count": -1}),
        single({**REPORT, "count": 1_000_000_001}),
        single({**REPORT, "count": True}),
        single({**REPORT, "count": 1.0}),
        single('{"count": 1e400, "observed_at": "2026-11-25T10:00:00+09:00"}'),
        single({**REPORT, "observed_at": "2026-11-25T10:00:00"}),
        single({**REPORT, "observed_at": "2999-11-25T10:00:00+09:00"}),
        single({**REPORT, "extra": 1}),
        single({"count": 1}),
        single('{"count": 1, "count": 2, "observed_at": "2026-11-25T10:00:00+09:00"}'),
        single('{"count": 1, "observed_at": "\\ud800"}'),
        single(""),
        single("[1]"),
        single(REPORT, account_id="bad.id"),
        single(REPORT, account_id="x" * 65),
        single(REPORT, headers={"content-type": "text/plain"}),
        single(REPORT, headers={"content-type": "application/json-patch+json"}),
        single(REPORT, headers={"content-type": "application/jsonp"}),
        single(REPORT, headers={"content-type": "application/json; charset=latin-1"}),
        single(REPORT, headers={}),  # a body with no media type is not JSON by default
        single(REPORT, headers={"content-type": ""}),
        batch({"reports": [BATCH_REPORT]}, headers={}),
        single(REPORT, queryStringParameters={"a": "1"}, rawQueryString="a=1"),
        batch({"reports": []}),
        batch({"reports": [BATCH_REPORT] * 101}),
        batch({"reports": [BATCH_REPORT, {**BATCH_REPORT, "count": -1}]}),
        batch({"reports": [BATCH_REPORT, {**BATCH_REPORT, "account_id": "acme\n"}]}),
        batch({"reports": [BATCH_REPORT, "acme"]}),
        batch({"reports": BATCH_REPORT}),
        batch({"reports": [BATCH_REPORT], "more": True}),
        load_event("get_usage.json"),
        load_event("list_churn_events.json"),
    ],
)
def test_anything_else_is_left_to_the_typed_resolver(counts, usage, event):
    # Given a request that is not a well-formed report
    # When the plain path sees it, Then it declines, before recording anything
    assert counts.plain_answer(copy.deepcopy(event)) is None
    assert usage.recorded == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json-patch+json", "application/jsonp", "application/json; charset=latin-1", "", None],
)
def test_a_body_that_is_not_json_in_utf8_by_its_content_type_is_400(counts, usage, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    _, typed = both(counts, usage, single(REPORT, headers=headers))
    assert (typed["statusCode"], json.loads(typed["body"])["error"]["code"]) == (400, "invalid_request")
    assert usage.recorded == []


field_values = st.one_of(
    st.integers(min_value=-5, max_value=2_000_000_000),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["acme", "ghost", "closed", "", "a b", "acme\n", "x" * 64, "x" * 65]),
    st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2101, 1, 1)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2026-11-25T10:00:00+09:00", "2026-11-25T10:00+09:00", "2026-02-30T10:00:00Z", "2026-11-25"]),
)
reports = st.dictionaries(st.sampled_from(["account_id", "count", "observed_at", "other"]), field_values, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(reports, max_size=4))
def test_any_batch_is_answered_the_same_or_declined(counts, usage, items):
    # Given any batch body, When both paths answer it, Then the plain answer (if any) is the typed one
    plain, typed = both(counts, usage, batch({"reports": items}))
    assert plain is None or plain == typed
    if items and all(counts.count_reports.batch({"reports": [item]}) for item in items):
        assert plain is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports, st.sampled_from(["acme", "ghost", "closed", "a.b"]))
def test_any_single_report_is_answered_the_same_or_declined(counts, usage, body, account_id):
    plain, typed = both(counts, usage, single(body, account_id=account_id))
    assert plain is None or plain == typed


def test_the_typed_resolver_is_not_built_for_a_report(counts, usage, monkeypatch):
    # Given a fresh function, When it answers a well-formed report through its handler
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Invoicing")
    monkeypatch.setattr(counts.metrics, "namespace", "Invoicing")
    counts.typed_app.cache_clear()
    response = counts.lambda_handler(single(REPORT), LambdaContext())
    # Then it answered without building the typed resolver
    assert response["statusCode"] == 200
    assert counts.typed_app.cache_info().currsize == 0
