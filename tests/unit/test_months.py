"""Months are Asia/Tokyo calendar months, whatever offset a timestamp carries."""

from datetime import datetime

import pytest

from billing import months


@pytest.mark.parametrize(
    ("observed_at", "month"),
    [
        ("2026-11-30T23:59:59+09:00", "2026-11"),  # last second of November in Tokyo
        ("2026-11-30T15:00:00Z", "2026-12"),  # the same instant as 2026-12-01T00:00 in Tokyo
        ("2026-11-30T14:59:59Z", "2026-11"),
        ("2026-12-31T15:00:00+00:00", "2027-01"),
        ("2026-11-01T00:00:00+09:00", "2026-11"),
        ("2026-10-31T23:00:00-08:00", "2026-11"),
    ],
)
def test_month_is_the_tokyo_calendar_month(observed_at, month):
    assert months.month_of(datetime.fromisoformat(observed_at)) == month


def test_previous_and_next_month_cross_the_year():
    assert months.previous_month("2027-01") == "2026-12"
    assert months.next_month("2026-12") == "2027-01"
    assert months.last_day("2028-02").day == 29


def test_microsecond_timestamps_round_trip_and_read_in_tokyo_time():
    moment = datetime.fromisoformat("2026-11-25T01:00:00.123456Z")
    assert months.iso_tokyo(months.to_micros(moment)) == "2026-11-25T10:00:00.123456+09:00"


@pytest.mark.parametrize("text", ["2026-13", "202611", "2026-1", "26-11", "2026-00", "0000-01", "9999-12", "", None])
def test_bad_month_keys_are_refused(text):
    assert not months.is_month(text)
