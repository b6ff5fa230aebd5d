"""The qualified invoice: the peak's bracket sets the fee, tax is rounded once, and it stores losslessly."""

import json
import tomllib
from datetime import date, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing import months
from billing.invoicing.invoice import Invoice, InvoiceLine, build_invoice, consumption_tax, summarise_tax
from billing.invoicing.issuer import load_issuer
from billing.invoicing.numbers import invoice_number, parse_invoice_number
from billing.tariff import DEFAULT_PATH, load_tariff, parse_tariff
from billing.usage.counts import MonthUsage, Reading
from tests.factories import account_profile


def profile(options=("bridge",), payment="bank_transfer", delivery="web", plan="standard", person_name=None, **contact):
    """Web delivery, and no department nor person by default (the recipient line is the company's, 御中)."""
    return account_profile(
        payment, delivery, person_name=person_name, plan=plan, options=options, contact={"department": None, **contact}
    )


def usage(peak: int, month: str = "2026-10", opening: int = 0) -> MonthUsage:
    at = months.to_micros(datetime(int(month[:4]), int(month[5:]), 25, 10, 0, tzinfo=months.TOKYO))
    day = months.first_day(month).replace(day=25)
    return MonthUsage("acme", month, opening, {day: Reading(peak, at)})


def invoice(peak=12_345, month="2026-10", tariff=None, **profile_args) -> Invoice:
    return build_invoice(
        invoice_number(month, 1), profile(**profile_args), usage(peak, month), tariff or load_tariff(), load_issuer()
    )


# -- the fee follows the bracket the peak falls in ----------------------------------------------


@pytest.mark.parametrize(
    ("peak", "bracket", "range_text", "fee"),
    [
        (0, 1, "0〜10,000件", 4_000),
        (10_000, 1, "0〜10,000件", 4_000),
        (10_001, 2, "10,001〜20,000件", 7_000),
        (100_001, 11, "100,001〜110,000件", 31_000 + 2_500),
        # past the 10 listed brackets each bracket adds 2,500 yen: 31,000 + (12,346 - 10) x 2,500
        (123_456_789, 12_346, "123,450,001〜123,460,000件", 30_871_000),
    ],
)
def test_the_plan_line_charges_the_whole_fee_of_the_peaks_bracket(peak, bracket, range_text, fee):
    # Given a standard-plan account with no options whose month peaked at `peak`
    inv = invoice(peak, options=())
    # Then its one line names the plan, the bracket and the peak, and charges that bracket's fee
    (line,) = inv.lines
    assert line.description == f"スタンダードプラン 利用料 ({range_text}, ピーク {peak:,}件)"
    assert line.amount == fee
    assert (inv.usage.peak, inv.usage.bracket) == (peak, bracket)
    assert inv.total == fee + fee // 10


def test_an_empty_month_bills_the_first_bracket_and_shows_no_peak_time():
    inv = build_invoice(
        invoice_number("2026-10", 1), profile(options=()), MonthUsage("acme", "2026-10"), load_tariff(), load_issuer()
    )
    assert inv.usage.peak == 0 and inv.usage.peak_observed_at is None and inv.usage.daily == ()
    assert inv.lines[0].amount == 4_000


def test_each_option_adds_its_flat_monthly_fee_in_the_order_chosen():
    inv = invoice(12_345, options=("dedicated_ip", "bridge"))
    assert [(line.code, line.amount) for line in inv.lines] == [
        ("plan:standard", 7_000),
        ("option:dedicated_ip", 10_000),
        ("option:bridge", 3_000),
    ]
    assert inv.lines[1].description == "専用IPオプション 月額"
    assert (inv.subtotal, inv.tax, inv.total) == (20_000, 2_000, 22_000)


def test_the_tariff_version_in_force_for_the_month_sets_the_prices():
    before, after = invoice(5_000, month="2027-03", options=()), invoice(5_000, month="2027-04", options=())
    assert (before.lines[0].amount, before.tariff_version) == (4_000, "2024-01")
    assert (after.lines[0].amount, after.tariff_version) == (4_400, "2027-04")


@given(peak=st.integers(0, 1_000_000_000), options=st.permutations(["bridge", "dedicated_ip"]).map(tuple))
def test_the_lines_add_up_to_the_total_less_tax(peak, options):
    inv = invoice(peak, options=options)
    assert sum(line.amount for line in inv.lines) == inv.total - inv.tax
    assert all(isinstance(v, int) for v in (inv.subtotal, inv.tax, inv.total, *(li.amount for li in inv.lines)))


# -- consumption tax: once per invoice per rate -----------------------------------------------


def odd_priced_tariff():
    """The shipped tariff with prices ending in 999, so rounding shows."""
    with open(DEFAULT_PATH, "rb") as handle:
        raw = tomllib.load(handle)
    raw["versions"][0]["plans"]["standard"]["brackets"] = [1_999, 2_999]
    raw["versions"][0]["options"]["bridge"]["monthly_fee"] = 2_999
    return parse_tariff(raw)


def test_tax_is_rounded_once_on_the_invoice_total_not_per_line():
    # Given lines of 1,999 and 2,999 yen: per line the tax would be 199 + 299 = 498
    inv = invoice(5_000, tariff=odd_priced_tariff(), options=("bridge",))
    assert [line.amount for line in inv.lines] == [1_999, 2_999]
    # Then the invoice taxes the 4,998 yen subtotal once: 499.8 rounds down to 499
    (ten_percent,) = inv.tax_summary
    assert (ten_percent.rate_percent, ten_percent.subtotal, ten_percent.tax) == (10, 4_998, 499)
    assert inv.total == 5_497


amounts = st.lists(st.integers(0, 10_000_000), min_size=1, max_size=12)


@given(amounts)
@example([1_999, 2_999])  # per line 199 + 299 = 498, once 499: they differ
def test_invoice_tax_is_the_rounded_down_tax_of_the_sum(line_amounts):
    lines = [InvoiceLine(f"l{i}", "x", "1ヶ月", amount, 10) for i, amount in enumerate(line_amounts)]
    (summary,) = summarise_tax(lines, "down")
    assert summary.tax == sum(line_amounts) * 10 // 100
    # Rounding each line first can only lose yen, never gain them.
    per_line = sum(amount * 10 // 100 for amount in line_amounts)
    assert per_line <= summary.tax <= per_line + len(line_amounts) - 1


def test_rounding_per_line_and_per_invoice_really_differ():
    lines = [InvoiceLine("a", "x", "1ヶ月", 1_999, 10), InvoiceLine("b", "x", "1ヶ月", 2_999, 10)]
    assert summarise_tax(lines, "down")[0].tax == 499
    assert sum(consumption_tax(line.amount, 10) for line in lines) == 498


@pytest.mark.parametrize(
    ("amount", "down", "half_up", "up"),
    [(4_990, 499, 499, 499), (4_994, 499, 499, 500), (4_995, 499, 500, 500), (4_999, 499, 500, 500), (0, 0, 0, 0)],
)
def test_each_rounding_mode_rounds_in_integer_yen(amount, down, half_up, up):
    assert consumption_tax(amount, 10, "down") == down
    assert consumption_tax(amount, 10, "half_up") == half_up
    assert consumption_tax(amount, 10, "up") == up


def test_a_credit_is_rounded_like_the_charge_it_undoes():
    assert consumption_tax(-4_995, 10, "down") == -499


def test_an_unknown_rounding_mode_is_refused():
    with pytest.raises(ValueError, match="banker"):
        consumption_tax(100, 10, "banker")


# -- dates, payment and the recipient -----------------------------------------------------------


def test_a_transfer_invoice_is_issued_on_the_1st_and_due_at_the_end_of_that_month():
    inv = invoice(month="2025-10", payment="bank_transfer")
    assert (inv.period_start, inv.period_end) == (date(2025, 10, 1), date(2025, 10, 31))
    assert inv.issued_on == date(2025, 11, 1)
    assert (inv.due_on, inv.debit_on) == (date(2025, 11, 28), None)  # 11/30 is a Sunday


def test_a_debit_invoice_shows_the_debit_date_and_no_due_date():
    inv = invoice(month="2026-11", payment="direct_debit", delivery="postal")
    assert inv.issued_on == date(2026, 12, 1)
    assert (inv.due_on, inv.debit_on) == (None, date(2026, 12, 28))  # 12/27 is a Sunday


def test_a_december_invoice_is_issued_in_january():
    inv = invoice(month="2026-12", payment="direct_debit")
    assert (inv.issued_on, inv.debit_on) == (date(2027, 1, 1), date(2027, 1, 27))


def test_a_named_person_is_addressed_with_sama_and_a_company_with_onchu():
    person = invoice(department="経理部", person_name="山田 太郎")
    department = invoice(department="経理部")
    assert person.recipient_line == "株式会社サンプル商事 経理部 山田 太郎 様"
    assert department.recipient_line == "株式会社サンプル商事 経理部 御中"


def test_the_usage_snapshot_shows_the_peak_its_time_and_the_daily_highs():
    inv = invoice(12_345)
    assert inv.usage.peak_observed_at == "2026-10-25T10:00:00+09:00"
    assert [(d.date, d.high) for d in inv.usage.daily] == [("2026-10-25", 12_345)]
    assert (inv.usage.bracket_low, inv.usage.bracket_high) == (10_001, 20_000)


# -- storage ---------------------------------------------------------------------------------------


def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | bool)  # int covers bool; float is refused


@given(
    peak=st.integers(0, 1_000_000_000),
    options=st.sampled_from([(), ("bridge",), ("bridge", "dedicated_ip")]),
    payment=st.sampled_from(["bank_transfer", "direct_debit"]),
    delivery=st.sampled_from(["web", "postal"]),
    person=st.sampled_from([None, "山田 太郎"]),
)
def test_an_invoice_round_trips_through_its_record(peak, options, payment, delivery, person):
    inv = invoice(peak, options=options, payment=payment, delivery=delivery, person_name=person)
    record = inv.as_record()
    # The record holds only DynamoDB-friendly values (no float anywhere) and is plain JSON
    assert _plain(record)
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record
    # And it rebuilds the very same invoice, which gives the very same record
    assert Invoice.from_record(record) == inv
    assert Invoice.from_record(record).as_record() == record


def test_the_record_carries_totals_for_search_and_the_issuer_it_was_issued_by():
    record = invoice(12_345, options=("bridge",)).as_record()
    assert (record["subtotal"], record["tax"], record["total"], record["currency"]) == (10_000, 1_000, 11_000, "JPY")
    assert record["issuer"]["registration_number"] == load_issuer().registration_number
    assert record["recipient"]["line"].endswith("御中")


def test_a_record_whose_total_disagrees_with_its_lines_is_refused():
    record = invoice().as_record()
    record["total"] += 1
    with pytest.raises(ValueError, match="do not match"):
        Invoice.from_record(record)


# -- numbering --------------------------------------------------------------------------------------


def test_invoice_numbers_are_sequential_within_their_month_and_sort_as_text():
    numbers = [invoice_number("2026-10", n) for n in (1, 2, 10, 999_999, 1_000_000)]
    assert numbers[0] == "INV-202610-0000001"
    assert numbers == sorted(numbers)
    assert [parse_invoice_number(n) for n in numbers[:2]] == [("2026-10", 1), ("2026-10", 2)]


@pytest.mark.parametrize(
    ("month", "sequence"), [("2026-13", 1), ("2026-10", 0), ("2026-10", 10_000_000), ("2026-10", True)]
)
def test_an_impossible_invoice_number_is_refused(month, sequence):
    with pytest.raises(ValueError):
        invoice_number(month, sequence)


def test_an_invoice_cannot_take_a_number_from_another_month():
    with pytest.raises(ValueError, match="2026-09"):
        build_invoice(invoice_number("2026-11", 1), profile(), usage(1, "2026-09"), load_tariff(), load_issuer())


def test_a_correction_references_the_invoice_it_replaces():
    original = invoice()
    correction = build_invoice(
        invoice_number("2026-10", 2),
        profile(),
        usage(12_345),
        load_tariff(),
        load_issuer(),
        replaces=original,
        issued_on=date(2026, 12, 2),
        reason="late reports raised the peak",
    )
    stored = Invoice.from_record(correction.as_record())
    assert (stored.replaces, stored.replaces_issued_on, stored.kind) == (
        "INV-202610-0000001",
        date(2026, 11, 1),
        "correction",
    )
    assert (stored.issued_on, stored.reason) == (date(2026, 12, 2), "late reports raised the peak")
