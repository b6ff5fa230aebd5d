"""The price list loads, validates itself, and picks the version in force."""

import copy
import tomllib

import pytest

from billing.errors import InvalidRequest
from billing.tariff import DEFAULT_PATH, TariffError, load_tariff, parse_tariff


def raw():
    with open(DEFAULT_PATH, "rb") as handle:
        return tomllib.load(handle)


def test_the_shipped_tariff_has_the_standard_plan_and_an_option():
    tariff = load_tariff()
    tariff.check_terms("2026-04", "standard", ["bridge"])
    with pytest.raises(InvalidRequest, match="platinum"):
        tariff.check_terms("2026-04", "platinum", [])
    with pytest.raises(InvalidRequest, match="no tariff version"):
        tariff.check_terms("2001-01", "standard", [])
    assert (tariff.currency, tariff.tax_rate_percent, tariff.rounding) == ("JPY", 10, "down")


def test_a_price_change_applies_from_the_month_it_names():
    tariff = load_tariff()
    assert tariff.for_month("2027-03").effective_from == "2024-01"
    assert tariff.for_month("2027-04").effective_from == "2027-04"


@pytest.mark.parametrize(("peak", "bracket"), [(0, 1), (9_500, 1), (10_000, 1), (10_001, 2), (20_000, 2), (20_001, 3)])
def test_brackets_are_ten_thousand_records_wide(peak, bracket):
    assert load_tariff().bracket_of(peak) == bracket


def test_past_the_listed_brackets_each_further_bracket_adds_its_price():
    plan = load_tariff().for_month("2026-11").plans["standard"]
    assert plan.fee(11) == plan.brackets[-1] + plan.price_per_extra_bracket


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda t: t["tax"].update(rounding="banker"), "tax.rounding"),
        (
            lambda t: t["versions"][0]["plans"]["standard"].update(brackets=[100, 50]),
            "versions[0].plans.standard.brackets",
        ),
        (lambda t: t["versions"][0]["plans"]["standard"].pop("name"), "versions[0].plans.standard.name"),
        (lambda t: t["versions"][0].update(effective_from="2024-13"), "versions[0].effective_from"),
        (
            lambda t: t["versions"][0]["options"]["bridge"].update(monthly_fee=-1),
            "versions[0].options.bridge.monthly_fee",
        ),
        (lambda t: t.update(currency="USD"), "currency"),
    ],
)
def test_a_bad_tariff_fails_at_load_naming_the_field(mutate, field):
    broken = copy.deepcopy(raw())
    mutate(broken)
    with pytest.raises(TariffError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_tariff(broken)
