"""Cancellation: the earliest end is the later of M+1 and the end of the minimum term."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.contracts.cancellation import Cancellation, add_months, earliest_end_month
from billing.errors import CancellationTooEarly, InvalidRequest

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("received_on", "contract_start", "term", "earliest"),
    [
        (date(2026, 11, 20), date(2025, 1, 1), 6, "2026-12"),  # long past the term: M+1
        (date(2026, 12, 31), date(2025, 1, 1), 6, "2027-01"),  # M+1 across the year end
        (date(2025, 2, 10), date(2025, 1, 15), 6, "2025-06"),  # inside the term: its last month (2025-01..06)
        (date(2025, 5, 31), date(2025, 1, 1), 6, "2025-06"),  # M+1 is the term's last month
        (date(2025, 6, 1), date(2025, 1, 1), 6, "2025-07"),  # the term's last month: M+1 wins
        (date(2026, 12, 1), date(2026, 1, 1), 12, "2027-01"),  # premium: 12 months from 2026-01 lasts to 2026-12
        (date(2026, 11, 1), date(2026, 11, 1), 1, "2026-12"),  # a one-month term still ends at M+1 at the earliest
    ],
)
def test_the_earliest_end_month(received_on, contract_start, term, earliest):
    assert earliest_end_month(received_on, contract_start, term) == earliest


DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@given(DAYS, DAYS, st.integers(1, 36))
def test_the_earliest_end_is_never_the_month_received_nor_inside_the_term(day_a, day_b, term):
    contract_start, received_on = sorted((day_a, day_b))
    earliest = earliest_end_month(received_on, contract_start, term)
    assert earliest > received_on.isoformat()[:7]
    assert earliest >= add_months(contract_start.isoformat()[:7], term - 1)
    # and it is the least month with both properties
    before = add_months(earliest, -1)
    assert before <= received_on.isoformat()[:7] or before < add_months(contract_start.isoformat()[:7], term - 1)


@given(st.integers(0, 2999), st.integers(1, 12), st.integers(-40, 40))
def test_add_months_round_trips(year, month, count):
    start = f"{year + 1:04d}-{month:02d}"
    if "0001-01" <= add_months(start, count) <= "9999-12":
        assert add_months(add_months(start, count), -count) == start


def decide(received_on, end_month=None, start=date(2025, 1, 1), term=6):
    return Cancellation.decide(received_on, end_month, start, term, TODAY)


def test_without_an_end_month_the_contract_ends_on_the_last_day_of_the_earliest():
    cancellation = decide(date(2026, 11, 20))
    assert (cancellation.end_month, cancellation.contract_end) == ("2026-12", date(2026, 12, 31))


def test_a_later_end_month_is_kept_and_an_earlier_one_is_refused_naming_the_earliest():
    assert decide(date(2026, 11, 20), "2027-03").contract_end == date(2027, 3, 31)
    with pytest.raises(CancellationTooEarly, match="2026-12") as refused:
        decide(date(2026, 11, 20), "2026-11")
    assert (refused.value.status, refused.value.code) == (409, "cancellation_too_early")


def test_a_receipt_in_the_future_or_before_the_contract_is_bad_input():
    with pytest.raises(InvalidRequest, match="future"):
        decide(TODAY + timedelta(days=1))
    with pytest.raises(InvalidRequest, match="before contract_start"):
        decide(date(2024, 12, 31))


def test_it_round_trips_through_its_record():
    cancellation = decide(date(2026, 11, 20), "2027-02")
    assert Cancellation.from_record(cancellation.as_record()) == cancellation
    assert cancellation.as_json("acme")["contract_end"] == "2027-02-28"
