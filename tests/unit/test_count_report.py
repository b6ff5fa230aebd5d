"""A count report is validated before anything is stored."""

import json
from datetime import UTC, datetime

import pytest

from billing.errors import InvalidRequest
from billing.schema.platform import BatchReportIn
from billing.usage.counts import CountReport
from tests.unit.edge import typed

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def parse(body, account="acme"):
    """The report as the single route takes it: the body typed, the account from the path."""
    report = typed(BatchReportIn, {**body, "account_id": account} if isinstance(body, dict) else body)
    return CountReport.received(report.account_id, report.count, report.observed_at, now=NOW)


def test_a_valid_report_carries_its_tokyo_month_and_day():
    report = parse({"count": 12345, "observed_at": "2026-11-25T10:00:00+09:00"})
    assert (report.count, report.month, report.day.isoformat()) == (12345, "2026-11", "2026-11-25")


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"count": True, "observed_at": "2026-11-25T10:00:00+09:00"}, "count: Input should be a valid integer"),
        (
            json.loads('{"count": 1e400, "observed_at": "2026-11-25T10:00:00+09:00"}'),
            "count: Input should be a valid integer",
        ),
        ({"count": 1.5, "observed_at": "2026-11-25T10:00:00+09:00"}, "count: Input should be a valid integer"),
        ({"count": 10.0, "observed_at": "2026-11-25T10:00:00+09:00"}, "count: Input should be a valid integer"),
        ({"count": "10", "observed_at": "2026-11-25T10:00:00+09:00"}, "count: Input should be a valid integer"),
        ({"count": -1, "observed_at": "2026-11-25T10:00:00+09:00"}, "count: Input should be"),
        ({"count": 1_000_000_001, "observed_at": "2026-11-25T10:00:00+09:00"}, "count: Input should be"),
        (
            {"count": 1, "observed_at": "2026-11-25T10:00:00"},
            "observed_at: must be an ISO 8601 timestamp with a UTC offset",
        ),
        ({"count": 1, "observed_at": "yesterday"}, "observed_at: must be an ISO 8601 timestamp"),
        ({"count": 1, "observed_at": 1795568400}, "observed_at: must be an ISO 8601 timestamp"),
        ({"count": 1, "observed_at": "2026-11-25T10:05:01+09:00"}, "more than 5 minutes in the future"),
        (
            {"count": 1, "observed_at": "0001-01-01T00:00:00+09:00"},
            "observed_at: timestamp must fall between 2001 and 2997",
        ),
        ({"count": 1}, "observed_at: Field required"),
        ({"count": 1, "observed_at": "2026-11-25T10:00:00+09:00", "extra": 1}, "extra: Extra inputs are not permitted"),
        ([1, 2], "Input should be a valid dictionary"),
        ("count", "Input should be a valid dictionary"),
    ],
)
def test_bad_reports_are_refused_with_a_message_that_says_why(body, complaint):
    with pytest.raises(InvalidRequest) as refused:
        parse(body)
    assert complaint in refused.value.message
    assert refused.value.as_json()["error"]["code"] == "invalid_request"


def test_a_report_up_to_five_minutes_ahead_is_accepted_for_clock_skew():
    assert parse({"count": 1, "observed_at": "2026-11-25T10:05:00+09:00"}).count == 1


@pytest.mark.parametrize("account", ["", "a" * 65, "a/b", "a b", "ア", "a.b", None, 7])
def test_bad_account_ids_are_refused(account):
    with pytest.raises(InvalidRequest, match="account_id"):
        parse({"count": 1, "observed_at": "2026-11-25T10:00:00+09:00"}, account=account)


def test_the_batch_form_takes_the_account_from_the_report():
    report = typed(BatchReportIn, {"account_id": "acme-2", "count": 0, "observed_at": "2026-11-25T00:00:00Z"})
    assert report.account_id == "acme-2"


@pytest.mark.parametrize("account", ["acme\n", "acme\x00", "ａｃｍｅ"])
def test_an_id_is_matched_whole(account):
    with pytest.raises(InvalidRequest, match="account_id"):
        parse({"count": 1, "observed_at": "2026-11-25T10:00:00+09:00"}, account=account)
