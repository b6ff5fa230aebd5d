"""Due dates land on bank business days; letters arrive on delivery days."""

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import billing
from billing import bank_calendar as cal
from billing import months


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2025, 11, 29), True),  # Saturday
        (date(2025, 11, 30), True),  # Sunday
        (date(2025, 11, 24), True),  # 振替休日 for 勤労感謝の日
        (date(2026, 9, 22), True),  # 国民の休日 (between 敬老の日 and 秋分の日)
        (date(2025, 12, 31), True),  # Wednesday, but banks close for the year end
        (date(2026, 1, 2), True),
        (date(2026, 1, 3), True),
        (date(2025, 12, 30), False),  # Tuesday: the last business day of 2025
        (date(2026, 1, 5), False),  # Monday: the first business day of 2026
        (date(2025, 11, 28), False),  # an ordinary Friday
    ],
)
def test_bank_holidays_are_weekends_national_holidays_and_the_year_end(day, holiday):
    assert cal.is_bank_holiday(day) is holiday


@pytest.mark.parametrize(
    ("issued", "due"),
    [
        (date(2025, 11, 1), date(2025, 11, 28)),  # 11/30 is a Sunday, 11/29 a Saturday
        (date(2026, 11, 1), date(2026, 11, 30)),  # 11/30 is a Monday: due on the last day itself
        (date(2026, 12, 1), date(2026, 12, 30)),  # 12/31 is a bank holiday even on a Thursday
        (date(2027, 1, 1), date(2027, 1, 29)),  # issued on New Year's Day; 1/31 is a Sunday
        (date(2029, 4, 1), date(2029, 4, 27)),  # 4/30 振替休日, 4/28-29 weekend
        (date(2028, 2, 1), date(2028, 2, 29)),  # leap year
    ],
)
def test_a_transfer_is_due_at_month_end_or_the_business_day_before(issued, due):
    assert cal.transfer_due_date(issued) == due


@pytest.mark.parametrize(
    ("issued", "debit"),
    [
        (date(2026, 12, 1), date(2026, 12, 28)),  # 12/27 is a Sunday
        (date(2027, 1, 1), date(2027, 1, 27)),  # issued on New Year's Day; the 27th is a Wednesday
        (date(2026, 11, 1), date(2026, 11, 27)),  # Friday
        (date(2026, 6, 1), date(2026, 6, 29)),  # 6/27 Saturday, 6/28 Sunday
        (date(2027, 2, 1), date(2027, 3, 1)),  # 2/27 Saturday, 2/28 Sunday: rolls into March
    ],
)
def test_a_debit_is_taken_on_the_27th_or_the_next_business_day(issued, debit):
    assert cal.debit_date(issued) == debit


def test_the_next_business_day_skips_the_year_end_and_the_weekend():
    assert cal.next_business_day(date(2025, 12, 30)) == date(2026, 1, 5)
    assert cal.next_business_day(date(2026, 11, 27)) == date(2026, 11, 30)  # Friday to Monday


@pytest.mark.parametrize(
    ("issued", "posted", "arrives"),
    [
        (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 5)),  # 11/3 文化の日: no delivery
        (date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 6)),  # posted after the new-year closure
        (date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 6)),  # posted Friday, no weekend delivery
        (date(2026, 5, 1), date(2026, 5, 7), date(2026, 5, 11)),  # Golden Week
    ],
)
def test_postal_invoices_are_posted_the_next_business_day_and_arrive_two_delivery_days_later(issued, posted, arrives):
    assert cal.posting_date(issued) == posted
    assert cal.estimated_arrival(posted) == arrives


def test_no_delivery_on_new_year_days_even_on_weekdays():
    # Given a letter posted on Wednesday 2025-12-31... (posting is not a bank day, but the post runs)
    # Then 1/1-1/3 (Thu-Sat) and Sunday 1/4 are skipped: 1/5 and 1/6 are the two delivery days.
    assert cal.estimated_arrival(date(2025, 12, 31)) == date(2026, 1, 6)


issue_dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2040, 12, 1)).map(lambda d: d.replace(day=1))


@given(issue_dates)
def test_the_transfer_due_date_is_the_last_business_day_of_the_issue_month(issued):
    due = cal.transfer_due_date(issued)
    month_end = months.last_day(issued.strftime("%Y-%m"))
    assert due.strftime("%Y-%m") == issued.strftime("%Y-%m")
    assert cal.is_business_day(due)
    assert all(cal.is_bank_holiday(due + timedelta(days=n)) for n in range(1, (month_end - due).days + 1))


@given(issue_dates)
def test_the_debit_date_is_the_first_business_day_from_the_27th(issued):
    debit = cal.debit_date(issued)
    the_27th = issued.replace(day=27)
    assert the_27th <= debit <= the_27th + timedelta(days=7)
    assert cal.is_business_day(debit)
    assert all(cal.is_bank_holiday(the_27th + timedelta(days=n)) for n in range((debit - the_27th).days))


def test_importing_the_calendar_does_not_load_the_holiday_tables():
    # The holiday package is loaded on the first date asked about, not at import.
    code = "import sys, billing.bank_calendar; assert 'holidays' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_domain_layer())


def _domain_layer() -> str:
    return str(Path(billing.__file__).parent.parent)


def test_business_days_are_counted_past_weekends_holidays_and_the_year_end():
    assert cal.business_days_after(date(2026, 12, 25), 3) == date(2026, 12, 30)  # Friday; Mon to Wed
    assert cal.business_days_after(date(2026, 12, 25), 4) == date(2027, 1, 4)  # 12/31 to 1/3 closed
    assert cal.business_days_after(date(2026, 12, 25), 10) == date(2027, 1, 13)  # 1/11 is 成人の日
    assert cal.business_days_before(date(2026, 12, 28), 5) == date(2026, 12, 21)
    assert cal.business_days_after(date(2026, 11, 20), 0) == date(2026, 11, 20)


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2035, 12, 31)))
def test_every_debit_date_has_exactly_one_request_day_lead_business_days_before_it(day):
    debit = cal.debit_to_request(day, 5)
    if debit is not None:
        assert cal.is_business_day(day) and cal.is_debit_date(debit)
        assert cal.business_days_before(debit, 5) == day
    if cal.is_debit_date(day):
        assert cal.debit_to_request(cal.business_days_before(day, 5), 5) == day


def test_a_debit_moved_into_march_is_still_february_s():
    assert cal.is_debit_date(date(2027, 3, 1)) and not cal.is_debit_date(date(2027, 2, 26))
    assert cal.debit_to_request(date(2027, 2, 19), 5) == date(2027, 3, 1)
