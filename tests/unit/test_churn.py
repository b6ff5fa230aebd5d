"""洗い替え detection: a high, a drop to at most half (and 1,000 fewer), then back to 90% within 72 hours."""

from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import months
from billing.usage.churn import (
    ChurnConfigError,
    ChurnThresholds,
    episodes_in,
    load_thresholds,
    parse_thresholds,
)
from billing.usage.counts import Reading

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=months.TOKYO)
HOUR = 3_600_000_000
DEFAULTS = ChurnThresholds()


def at(hours: float, micros: int = 0) -> int:
    return months.to_micros(T0 + timedelta(hours=hours)) + micros


def readings(*pairs: tuple[int, int]) -> list[Reading]:
    return [Reading(count, moment) for count, moment in pairs]


def episodes(*pairs: tuple[int, int], thresholds: ChurnThresholds = DEFAULTS) -> list:
    return episodes_in("acme", readings(*pairs), thresholds)[1]


class TestConfiguration:
    def test_the_shipped_file_holds_the_documented_defaults_as_exact_fractions(self):
        assert load_thresholds() == ChurnThresholds(Fraction(1, 2), Fraction(9, 10), 72, 1000)

    def test_a_decimal_ratio_is_read_exactly(self):
        assert parse_thresholds({"recover_ratio": 0.7}).recover_ratio == Fraction(7, 10)

    @pytest.mark.parametrize(
        "raw", [{"drop_ratio": 0}, {"drop_ratio": 1.5}, {"window_hours": 0}, {"min_records": True}, {"typo": 1}]
    )
    def test_a_bad_setting_is_refused_by_name(self, raw):
        with pytest.raises(ChurnConfigError, match=next(iter(raw))):
            parse_thresholds(raw)


class TestEpisodes:
    def test_a_drop_and_reregister_within_hours_is_one_episode(self):
        # Given 20,000 records, then 500, then 19,800 three hours later
        found = episodes((20_000, at(0)), (500, at(1)), (19_800, at(4)))
        # Then one episode names all three
        assert [e.as_json() for e in found] == [
            {
                "dropped_at": "2026-11-10T10:00:00+09:00",
                "from": 20_000,
                "to": 500,
                "recovered_at": "2026-11-10T13:00:00+09:00",
                "back_to": 19_800,
            }
        ]
        assert found[0].month == "2026-11"

    def test_an_ordinary_dip_is_not_an_episode(self):
        assert episodes((20_000, at(0)), (17_000, at(1)), (20_000, at(2))) == []

    def test_a_drop_that_never_recovers_is_not_an_episode(self):
        assert episodes((20_000, at(0)), (500, at(1)), (600, at(2)), (900, at(30))) == []

    def test_the_drop_may_come_gradually_after_the_high(self):
        found = episodes((20_000, at(0)), (15_000, at(1)), (9_000, at(2)), (18_000, at(3)))
        assert [(e.high.count, e.drop.count, e.recovery.count) for e in found] == [(20_000, 9_000, 18_000)]

    def test_the_window_runs_from_the_last_low_count(self):
        found = episodes((20_000, at(0)), (500, at(1)), (700, at(60)), (19_000, at(120)))
        assert [(e.drop.count, e.drop.at) for e in found] == [(700, at(60))]

    def test_after_an_episode_the_recovered_count_is_the_new_high(self):
        found = episodes(
            (20_000, at(0)), (0, at(1)), (20_000, at(2)), (0, at(3)), (18_000, at(4)), (10_000, at(5)), (16_000, at(6))
        )
        assert [(e.high.count, e.drop.count, e.recovery.count) for e in found] == [
            (20_000, 0, 20_000),
            (20_000, 0, 18_000),
        ]

    def test_a_drop_that_stood_longer_than_the_window_resets_the_high(self):
        # Given a real shrink (it stays down past the window), then 12,000
        state, found = episodes_in("acme", readings((20_000, at(0)), (500, at(1)), (12_000, at(100))), DEFAULTS)
        assert found == [] and state.high.count == 12_000 and state.drop is None
        # Then a later dip and recovery is measured against the new level
        assert episodes_in("acme", readings((3_000, at(101)), (11_000, at(102))), DEFAULTS, state)[1]

    def test_the_episode_belongs_to_the_month_of_the_drop(self):
        end = months.to_micros(datetime(2026, 11, 30, 23, 0, tzinfo=months.TOKYO))
        found = episodes((20_000, end - HOUR), (500, end), (19_000, end + 2 * HOUR))
        assert found[0].month == "2026-11" and found[0].as_json()["recovered_at"].startswith("2026-12-01")


class TestEdges:
    """Each threshold is inclusive; one record (or one microsecond) past it is not an episode."""

    @pytest.mark.parametrize(("low", "flagged"), [(10_000, True), (10_001, False)])
    def test_the_drop_is_at_most_a_times_one_minus_drop_ratio(self, low, flagged):
        assert bool(episodes((20_000, at(0)), (low, at(1)), (20_000, at(2)))) is flagged

    @pytest.mark.parametrize(("low", "flagged"), [(1_000, True), (1_001, False)])
    def test_the_drop_is_at_least_min_records(self, low, flagged):
        # A of 2,000: half is 1,000, and 2,000 - 1,000 is exactly min_records
        assert bool(episodes((2_000, at(0)), (low, at(1)), (2_000, at(2)))) is flagged

    @pytest.mark.parametrize(("late", "flagged"), [(0, True), (1, False)])
    def test_the_recovery_comes_at_most_window_hours_after_the_drop(self, late, flagged):
        assert bool(episodes((20_000, at(0)), (500, at(1)), (19_000, at(73, late)))) is flagged

    @pytest.mark.parametrize(("back", "flagged"), [(18_000, True), (17_999, False)])
    def test_the_recovery_is_at_least_a_times_recover_ratio(self, back, flagged):
        assert bool(episodes((20_000, at(0)), (500, at(1)), (back, at(2)))) is flagged

    def test_ratios_that_floats_cannot_hold_are_still_exact(self):
        # 0.7 as a float times 30,000 is 20,999.999...; the rule means 21,000
        thresholds = parse_thresholds({"recover_ratio": 0.7})
        assert episodes((30_000, at(0)), (0, at(1)), (21_000, at(2)), thresholds=thresholds)


class TestRepeats:
    def test_a_repeated_reading_changes_nothing(self):
        state, _ = episodes_in("acme", readings((20_000, at(0)), (500, at(1))), DEFAULTS)
        assert state.fold(Reading(500, at(1)), DEFAULTS) == (state, None)

    def test_an_older_reading_after_a_newer_one_is_ignored(self):
        state, _ = episodes_in("acme", readings((20_000, at(0)), (500, at(2))), DEFAULTS)
        assert state.fold(Reading(19_000, at(1)), DEFAULTS) == (state, None)

    def test_the_recovery_redelivered_is_not_a_second_episode(self):
        state, found = episodes_in("acme", readings((20_000, at(0)), (500, at(1)), (19_800, at(2))), DEFAULTS)
        assert len(found) == 1
        assert state.fold(Reading(19_800, at(2)), DEFAULTS) == (state, None)


# ------------------------------------------------------------ properties

timeline = st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 10 * 24 * 60)), max_size=40).map(
    lambda pairs: sorted({minute: count for count, minute in pairs}.items())
)


def as_readings(minute_counts) -> list[Reading]:
    return [Reading(count, at(minute / 60)) for minute, count in minute_counts]


@given(st.integers(1_000, 50_000), st.lists(st.integers(0, 10_000), max_size=40), st.randoms())
def test_counts_that_never_fall_to_half_of_an_earlier_one_never_flag(low, spread, random):
    counts = [low + min(extra, low - 1) for extra in spread]  # all within [low, 2 * low)
    random.shuffle(counts)
    assert episodes(*((count, at(i)) for i, count in enumerate(counts))) == []


@given(timeline)
def test_every_episode_obeys_the_rule(minute_counts):
    for e in episodes_in("acme", as_readings(minute_counts), DEFAULTS)[1]:
        assert e.high.at < e.drop.at < e.recovery.at
        assert 2 * e.drop.count <= e.high.count and e.high.count - e.drop.count >= 1_000
        assert 10 * e.recovery.count >= 9 * e.high.count
        assert e.recovery.at - e.drop.at <= 72 * HOUR


@given(timeline, st.lists(st.integers(0, 39), max_size=20))
def test_repeating_readings_never_adds_an_episode(minute_counts, repeats):
    once = as_readings(minute_counts)
    again = list(once)
    for index in sorted(repeats, reverse=True):
        if index < len(again):
            again.insert(index + 1, again[index])  # a redelivered stream record right after itself
    assert episodes_in("acme", again, DEFAULTS) == episodes_in("acme", once, DEFAULTS)
