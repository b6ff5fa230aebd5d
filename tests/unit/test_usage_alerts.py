"""Usage alerts: which alerts a rise of the month's peak sets off (crossed, approaching), and their keys."""

from __future__ import annotations

from fractions import Fraction

import pytest

from billing.usage.alerts import Alert, AlertKind, Brackets, alerts_for_rise

BRACKETS = Brackets(10_000)
CROSSED, APPROACHING = AlertKind.CROSSED, AlertKind.APPROACHING


@pytest.mark.parametrize(
    ("opening", "before", "after", "expected"),
    [
        (0, 5_000, 8_999, []),  # a rise within the bracket, below 90% of its top
        (0, 8_999, 9_000, [Alert(APPROACHING, 2)]),  # reaches 9,000 of 10,000: bracket 2 is near
        (0, 9_000, 9_500, []),  # already past the threshold: once
        (0, 9_500, 10_001, [Alert(CROSSED, 2)]),  # enters bracket 2
        (0, 9_500, 19_500, [Alert(CROSSED, 2), Alert(APPROACHING, 3)]),  # enters 2 and is near 3 at once
        (0, 5_000, 35_000, [Alert(CROSSED, 4)]),  # three brackets at once: one crossed, for the highest
        (0, 8_000, 8_000, []),  # no rise
        (0, 8_000, 7_000, []),  # a lower reading (out of order): the peak stands
        (25_000, 25_000, 26_999, []),  # the opening's bracket: never crossed into this month
        (25_000, 26_999, 27_000, [Alert(APPROACHING, 4)]),  # but its top can still be neared
        (29_500, 29_500, 29_900, []),  # the opening was past the threshold already: nothing rose through it
        (29_500, 29_500, 30_001, [Alert(CROSSED, 4)]),  # the next bracket above the opening's
        (15_000, 0, 16_000, []),  # a peak below the opening counts from the opening
    ],
)
def test_the_alerts_of_a_rise(opening, before, after, expected):
    assert alerts_for_rise(opening, before, after, BRACKETS) == expected


def test_the_approach_ratio_is_exact_and_configurable():
    assert alerts_for_rise(0, 0, 7_999, BRACKETS, Fraction(4, 5)) == []
    assert alerts_for_rise(0, 0, 8_000, BRACKETS, Fraction(4, 5)) == [Alert(APPROACHING, 2)]


def test_each_alert_has_one_key_per_kind_and_bracket():
    keys = {Alert(kind, bracket).key for kind in AlertKind for bracket in (2, 3)}
    assert len(keys) == 4 and Alert(CROSSED, 3).key == "alert#crossed#3"
