"""Terms by month: the invoice for M is built from the terms in force for M, whatever was applied later."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.contracts.cancellation import Cancellation
from billing.contracts.change_requests import Changes
from billing.contracts.terms import Contract, TermsChange
from billing.errors import InvalidRequest, MonthClosed
from billing.schema.platform import ChangeRequestIn
from billing.tariff import load_tariff
from tests.factories import account_profile
from tests.unit.edge import typed

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 2026-11-20 12:00 in Tokyo


def contract(*changes: TermsChange, closed_through: str | None = None, cancellation=None) -> Contract:
    return Contract(parse_first(), tuple(changes), cancellation, closed_through)


def parse_first():
    return account_profile()  # standard + bridge, bank transfer, postal, from 2026-04


def change(month: str, **fields) -> TermsChange:
    if "options" in fields:
        fields["options"] = tuple(fields["options"])
    return TermsChange(month, Changes(**fields))


def test_a_plan_change_for_next_month_leaves_this_month_alone():
    given_ = contract(change("2026-12", plan="premium", options=("bridge", "dedicated_ip")))
    assert (given_.terms_for("2026-11").plan, given_.terms_for("2026-11").options) == ("standard", ("bridge",))
    assert (given_.terms_for("2026-12").plan, given_.terms_for("2026-12").options) == (
        "premium",
        ("bridge", "dedicated_ip"),
    )
    assert given_.terms_for("2027-05").plan == "premium"


def test_changes_compose_by_field_in_month_order():
    given_ = contract(
        change("2027-01", plan="premium"),
        change("2026-11", billing_contact={"person_name": None}, delivery_method="web"),
    )
    november, january = given_.terms_for("2026-11"), given_.terms_for("2027-01")
    assert (november.plan, november.delivery_method, november.billing_contact.person_name) == ("standard", "web", None)
    assert (january.plan, january.delivery_method, january.billing_contact.recipient) == (
        "premium",
        "web",
        "株式会社サンプル商事 経理部 御中",
    )


def test_before_the_start_the_first_terms_and_after_the_end_the_last():
    ended = contract(
        change("2026-06", plan="premium"),
        cancellation=Cancellation.decide(
            parse_first().contract_start, None, parse_first().contract_start, 6, NOW.date()
        ),
    )
    assert ended.end_month == "2026-09"  # a 6-month term from 2026-04 lasts through 2026-09
    assert ended.terms_for("2025-01").plan == "standard"
    assert ended.terms_for("2030-01").plan == "premium"
    assert ended.terms_for("2030-01").contract_end.isoformat() == "2026-09-30"
    assert [ended.covers(m) for m in ("2026-03", "2026-04", "2026-09", "2026-10")] == [False, True, True, False]


def test_scheduled_changes_are_those_after_the_month():
    given_ = contract(change("2026-12", plan="premium"), change("2026-11", delivery_method="web"))
    body = given_.as_json("2026-11")
    assert body["plan"] == "standard" and body["delivery_method"] == "web"
    assert body["scheduled_changes"] == [{"effective_month": "2026-12", "changes": {"plan": "premium"}}]
    assert given_.as_json("2026-12")["scheduled_changes"] == []


def test_a_closed_month_cannot_change_and_a_waiting_change_moves_to_the_first_open_month():
    closed = contract(closed_through="2026-11")
    with pytest.raises(MonthClosed):
        closed.terms_for_change("2026-11")
    request, _ = typed(ChangeRequestIn, {"changes": {"plan": "premium"}, "effective_month": "2026-11"}).as_request(
        closed.terms_for("2026-11"), NOW
    )
    applied = closed.settle(request, NOW, load_tariff())
    assert applied.effective_month == "2026-12"
    assert contract(closed_through="2026-10").settle(request, NOW, load_tariff()).effective_month == "2026-11"


def test_a_request_without_a_month_takes_effect_from_the_tokyo_month_it_is_applied_in():
    request, _ = typed(ChangeRequestIn, {"changes": {"delivery_method": "web"}}).as_request(parse_first(), NOW)
    assert request.effective_month is None
    late_evening = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 2026-12-01 00:30 in Tokyo
    assert contract().settle(request, late_evening, load_tariff()).effective_month == "2026-12"


def test_settling_refuses_a_plan_the_tariff_of_that_month_does_not_sell():
    request, _ = typed(ChangeRequestIn, {"changes": {"plan": "enterprise"}}).as_request(parse_first(), NOW)
    with pytest.raises(InvalidRequest, match="enterprise"):
        contract().settle(request, NOW, load_tariff())


MONTHS = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2026, 2028), st.integers(1, 12))


@given(
    st.lists(st.tuples(MONTHS, st.sampled_from(["standard", "premium"])), max_size=6),
    MONTHS,
)
def test_terms_for_a_month_never_depend_on_changes_from_later_months(history, month):
    month = max(month, "2026-04")  # before its start a contract answers its first month's terms
    changes = [change(m, plan=p) for m, p in history]
    earlier_only = [c for c in changes if c.effective_month <= month]
    assert contract(*changes).terms_for(month) == contract(*earlier_only).terms_for(month)
