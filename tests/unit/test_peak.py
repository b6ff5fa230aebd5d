"""The month's peak is a maximum: order and repetition of reports never matter.

``fold`` applies exactly the rules the DynamoDB conditions enforce
(``Reading.beats_as_high`` per day, ``beats_as_last`` for the last count);
tests/integration checks the same properties against the real conditions.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing import months
from billing.tariff import load_tariff
from billing.usage.counts import CountReport, MonthUsage

START = datetime(2026, 11, 1, tzinfo=months.TOKYO)


def fold(reports, opening=0):
    days, last = {}, None
    for report in reports:
        if report.reading.beats_as_high(days.get(report.day)):
            days[report.day] = report.reading
        if report.reading.beats_as_last(last):
            last = report.reading
    return MonthUsage("acme", "2026-11", opening_count=opening, days=days, last=last)


reports = st.lists(
    st.builds(
        lambda count, minutes: CountReport("acme", count, START + timedelta(minutes=minutes)),
        st.integers(1, 50_000),
        st.integers(0, 29 * 24 * 60),
    ),
    min_size=1,
    max_size=40,
)


@given(reports, st.randoms())
def test_any_permutation_with_repeats_gives_the_same_month(batch, rng):
    shuffled = batch + batch[: len(batch) // 2]
    rng.shuffle(shuffled)
    assert fold(shuffled) == fold(batch)


@given(reports)
def test_the_peak_is_the_largest_count_at_its_earliest_time(batch):
    usage = fold(batch)
    top = max(r.count for r in batch)
    assert usage.peak.count == top
    assert usage.peak.at == min(r.at for r in batch if r.count == top)


@given(reports)
def test_the_last_count_is_the_latest_report(batch):
    latest = max(batch, key=lambda r: (r.at, r.count))
    assert fold(batch).last_count == latest.count


def test_a_deleted_spike_still_sets_the_peak():
    spike = CountReport("acme", 25_000, datetime(2026, 11, 10, 3, tzinfo=UTC))
    after = CountReport("acme", 9_000, datetime(2026, 11, 10, 4, tzinfo=UTC))
    usage = fold([spike, after])
    assert (usage.peak.count, usage.last_count) == (25_000, 9_000)


def test_a_month_with_no_reports_peaks_at_its_opening_count():
    usage = MonthUsage("acme", "2026-11", opening_count=9_000)
    body = usage.as_json(load_tariff())
    assert (body["peak"], body["peak_observed_at"], body["last_count"]) == (9_000, "2026-11-01T00:00:00+09:00", 9_000)


def test_an_account_that_never_reported_peaks_at_zero():
    body = MonthUsage("acme", "2026-11").as_json(load_tariff())
    assert (body["peak"], body["peak_observed_at"], body["daily"]) == (0, None, [])


def test_a_report_at_the_opening_count_does_not_raise_the_peak():
    report = CountReport("acme", 9_000, datetime(2026, 11, 2, tzinfo=UTC))
    usage = fold([report], opening=9_000)
    assert usage.peak.count == 9_000
    assert not usage.raised_by(report)
