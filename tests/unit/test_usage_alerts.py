"""Usage alerts: which alerts a rise of the peak sets off, sending each once, and what the customer reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from fractions import Fraction

import pytest

from billing import months
from billing.dal.usage_alerts import peak_rise, sent_alerts
from billing.delivery.usage_alerts import AlertedAccount, UsageAlertWatch
from billing.delivery.usage_notices import PEAK_SETS_THE_FEE, UsageAlertNotice
from billing.invoicing.estimate import Estimate, estimate
from billing.invoicing.invoice import build_invoice
from billing.invoicing.issuer import load_issuer
from billing.tariff import load_tariff
from billing.usage.alerts import Alert, AlertKind, PeakRise, alerts_for_rise, parse_approach_ratio
from billing.usage.churn import ChurnConfigError, parse_thresholds
from billing.usage.counts import MonthUsage, Reading
from tests.factories import account_profile

TARIFF = load_tariff()  # brackets of 10,000 records
CROSSED, APPROACHING = AlertKind.CROSSED, AlertKind.APPROACHING
DEC_3 = months.to_micros(datetime(2026, 12, 3, 14, 5, tzinfo=months.TOKYO))


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
        (0, 10_000, 10_001, [Alert(CROSSED, 2)]),  # 10,000 is still bracket 1: 10,001 enters 2
    ],
)
def test_the_alerts_of_a_rise(opening, before, after, expected):
    assert alerts_for_rise(opening, before, after, TARIFF) == expected


def test_the_approach_ratio_is_exact_and_configurable():
    assert alerts_for_rise(0, 0, 7_999, TARIFF, Fraction(4, 5)) == []
    assert alerts_for_rise(0, 0, 8_000, TARIFF, Fraction(4, 5)) == [Alert(APPROACHING, 2)]


def test_the_approach_ratio_is_read_beside_the_churn_thresholds():
    assert parse_approach_ratio({}) == Fraction(9, 10)
    assert parse_approach_ratio({"approach_ratio": 0.85}) == Fraction(17, 20)
    for bad in ({"approach_ratio": 1.5}, {"approach_ratio": "0.9"}, {"approach_ratio": 0}, {"ratio": 0.9}):
        with pytest.raises(ChurnConfigError):
            parse_approach_ratio(bad)
    # the alerts' table sits in the same file, and the churn thresholds leave it to them
    assert parse_thresholds({"drop_ratio": 0.5, "usage_alerts": {"approach_ratio": 0.9}}).drop_ratio == Fraction(1, 2)


def test_each_alert_has_one_key_and_one_event_per_kind_and_bracket():
    keys = {Alert(kind, bracket).key for kind in AlertKind for bracket in (2, 3)}
    assert len(keys) == 4 and Alert(CROSSED, 3).key == "alert#crossed#3"
    assert (CROSSED.detail_type, APPROACHING.detail_type) == ("UsageBracketCrossed", "UsageBracketApproaching")


def test_rises_of_one_month_fold_from_the_first_before_to_the_highest_after():
    first = PeakRise("acme", "2026-12", 5_000, Reading(9_000, 10))
    later = PeakRise("acme", "2026-12", 9_000, Reading(12_000, 30), opening=4_000)
    folded = first.then(later)
    assert (folded.before, folded.after, folded.opening) == (5_000, Reading(12_000, 30), 4_000)
    assert folded.then(PeakRise("acme", "2026-12", 6_000, Reading(11_000, 40))).after == Reading(12_000, 30)


# ---------------------------------------------------------------- the stream's rises
def _record(event: str, new: dict, old: dict | None = None) -> dict:
    from billing.dal.clients import to_item

    change = {"Keys": to_item({"pk": new["pk"], "sk": new["sk"]}), "NewImage": to_item(new), "SequenceNumber": "1"}
    if old is not None:
        change["OldImage"] = to_item(old)
    return {"eventName": event, "dynamodb": change}


USAGE = {"pk": "ACCOUNT#acme", "sk": "USAGE#2026-12"}


def test_a_usage_items_new_day_high_is_a_rise_of_the_peak():
    old = {**USAGE, "day#2026-12-01": {"count": 8_000, "at": 1}}
    new = {**old, "day#2026-12-03": {"count": 9_200, "at": DEC_3}, "opening_count": 7_000}
    assert peak_rise(_record("MODIFY", new, old)) == PeakRise("acme", "2026-12", 8_000, Reading(9_200, DEC_3), 7_000)
    first = {**USAGE, "day#2026-12-01": {"count": 500, "at": 1}}
    assert peak_rise(_record("INSERT", first)) == PeakRise("acme", "2026-12", 0, Reading(500, 1))


@pytest.mark.parametrize(
    "record",
    [
        # a day high that stays below the month's highest: no rise
        _record(
            "MODIFY",
            {**USAGE, "day#2026-12-01": {"count": 8_000, "at": 1}, "day#2026-12-02": {"count": 6_000, "at": 2}},
            {**USAGE, "day#2026-12-01": {"count": 8_000, "at": 1}, "day#2026-12-02": {"count": 5_000, "at": 2}},
        ),
        # the alert's own write, a late report, the close's freeze: no new day high
        _record(
            "MODIFY",
            {**USAGE, "day#2026-12-01": {"count": 8_000, "at": 1}, "alert#crossed#2": {}},
            {**USAGE, "day#2026-12-01": {"count": 8_000, "at": 1}},
        ),
        _record("INSERT", {**USAGE, "opening_count": 12_000}),  # the close seeding the next month
        _record("MODIFY", {"pk": "ACCOUNT#acme", "sk": "PROFILE", "last#2026-12": {"count": 1, "at": 1}}, {}),
        {"eventName": "REMOVE", "dynamodb": {"Keys": {}}},
    ],
)
def test_every_other_change_is_no_rise(record):
    assert peak_rise(record) is None


def test_the_usage_api_lists_the_alerts_sent():
    item = {
        "alert#approaching#2": {"peak": 9_100, "at": 1, "claimed_at": "a", "sent_at": "2026-12-03T14:05:01+09:00"},
        "alert#crossed#2": {"peak": 10_500, "at": 2, "claimed_at": "b", "sent_at": "2026-12-04T09:00:00+09:00"},
        "alert#approaching#3": {"peak": 18_500, "at": 3, "claimed_at": "c"},  # claimed, not sent yet
        "day#2026-12-01": {"count": 1, "at": 1},
    }
    assert sent_alerts(item) == [
        {"kind": "approaching", "bracket": 2, "sent_at": "2026-12-03T14:05:01+09:00"},
        {"kind": "crossed", "bracket": 2, "sent_at": "2026-12-04T09:00:00+09:00"},
    ]


# ---------------------------------------------------------------- sending each once
class FakeStore:
    def __init__(self, profile, opening=0, contract_end=None):
        self.profile, self.opening, self.contract_end = profile, opening, contract_end
        self.reads, self.claimed, self.sent = 0, {}, set()

    def account(self, rise):
        self.reads += 1
        terms = replace(self.profile, contract_end=self.contract_end)
        return AlertedAccount(terms, self.opening if rise.opening is None else rise.opening)

    def claim(self, rise, alert):
        if alert.key in self.claimed:
            return alert.key not in self.sent
        self.claimed[alert.key] = rise.after
        return True

    def mark_sent(self, rise, alert):
        self.sent.add(alert.key)


def _watch(store, fail_on: Alert | None = None):
    sent = []

    def send(rise, account, alert):
        if alert == fail_on:
            raise RuntimeError("SES refused it")
        sent.append(alert)

    return UsageAlertWatch(store, TARIFF, send), sent


def test_a_rise_that_sets_off_nothing_reads_nothing():
    store = FakeStore(account_profile())
    watch, sent = _watch(store)
    assert watch.observe(PeakRise("acme", "2026-12", 1_000, Reading(8_999, DEC_3))) == []
    assert store.reads == 0 and sent == []


def test_an_alert_is_sent_once_however_often_its_rise_comes_back():
    store = FakeStore(account_profile())
    watch, sent = _watch(store)
    rise = PeakRise("acme", "2026-12", 8_000, Reading(10_500, DEC_3))
    assert watch.observe(rise) == [Alert(CROSSED, 2)]
    assert watch.observe(rise) == [] and sent == [Alert(CROSSED, 2)]


def test_a_send_that_failed_is_sent_when_the_rise_comes_back():
    store = FakeStore(account_profile())
    watch, _ = _watch(store, fail_on=Alert(CROSSED, 2))
    rise = PeakRise("acme", "2026-12", 8_000, Reading(10_500, DEC_3))
    with pytest.raises(RuntimeError):
        watch.observe(rise)
    watch, sent = _watch(store)
    assert watch.observe(rise) == [Alert(CROSSED, 2)] and sent == [Alert(CROSSED, 2)]


def test_the_opening_known_only_to_the_account_rules_out_its_bracket():
    store = FakeStore(account_profile(), opening=25_000)  # the month opened in bracket 3
    watch, sent = _watch(store)
    assert watch.observe(PeakRise("acme", "2026-12", 0, Reading(26_000, DEC_3))) == []
    assert store.reads == 1 and sent == []


def test_an_account_that_turned_alerts_off_hears_nothing():
    store = FakeStore(replace(account_profile(), usage_alerts=False))
    watch, sent = _watch(store)
    assert watch.observe(PeakRise("acme", "2026-12", 8_000, Reading(10_500, DEC_3))) == [] and sent == []


def test_no_alert_for_a_reading_after_the_contract_ended():
    rise = PeakRise("acme", "2026-12", 8_000, Reading(10_500, DEC_3))
    watch, sent = _watch(FakeStore(account_profile(), contract_end=date(2026, 12, 2)))
    assert watch.observe(rise) == [] and sent == []
    watch, sent = _watch(FakeStore(account_profile(), contract_end=date(2026, 12, 31)))
    assert watch.observe(rise) == [Alert(CROSSED, 2)]


# ---------------------------------------------------------------- the estimate, and what the customer reads
def test_the_estimate_is_the_invoice_that_closing_now_would_issue():
    profile = account_profile(options=("bridge", "dedicated_ip"))
    usage = MonthUsage("acme", "2026-12", opening_count=3_000, days={date(2026, 12, 3): Reading(14_321, DEC_3)})
    invoice = build_invoice("INV-202612-0000001", profile, usage, TARIFF, load_issuer())
    assert estimate(profile, "2026-12", 14_321, TARIFF) == Estimate(invoice.subtotal, invoice.tax)
    assert estimate(account_profile(), "2026-12", 10_001, TARIFF).as_json() == {
        "subtotal": 10_000,  # 7,000 for the second bracket and 3,000 for bridge
        "tax": 1_000,
        "total": 11_000,
    }


def _notice(kind: AlertKind, bracket: int, peak: int, fee: Estimate) -> UsageAlertNotice:
    low, high = TARIFF.bracket_range(bracket)
    return UsageAlertNotice(
        Alert(kind, bracket),
        "acme",
        "2026-12",
        "株式会社サンプル商事 御中",
        "billing@example.jp",
        "メールマーケ株式会社",
        Reading(peak, DEC_3),
        low,
        high,
        fee,
        Fraction(9, 10),
    )


def test_a_crossed_alert_names_the_month_the_peak_when_the_bracket_and_its_fee():
    email = _notice(CROSSED, 2, 10_500, Estimate(10_000, 1_000)).as_email()
    assert email.subject == "【メールマーケ株式会社】ご利用件数が次の料金帯に入りました (2026年12月ご利用分)"
    assert (
        "2026年12月のご利用件数が、2026年12月3日 14:05に10,500件となり、10,001〜20,000件の料金帯に入りました。"
        in email.body
    )
    assert "¥11,000 (税込)" in email.body and PEAK_SETS_THE_FEE in email.body
    assert email.body.startswith("株式会社サンプル商事 御中\n") and email.to == "billing@example.jp"


def test_an_approaching_alert_names_the_threshold_and_what_the_next_bracket_would_cost():
    notice = _notice(APPROACHING, 2, 9_100, Estimate(10_000, 1_000))
    body = notice.as_email().body
    assert "9,100件となり、現在の料金帯の上限 (10,000件) の90%に達しました。" in body
    assert "10,000件を超えると10,001〜20,000件の料金帯となり" in body and "¥11,000 (税込)" in body
    assert notice.detail() == {
        "alert_id": "usage-acme-2026-12-approaching-2",
        "account_id": "acme",
        "month": "2026-12",
        "kind": "approaching",
        "bracket": {"index": 2, "from": 10_001, "to": 20_000},
        "peak": 9_100,
        "peak_observed_at": "2026-12-03T14:05:00+09:00",
        "estimate": {"subtotal": 10_000, "tax": 1_000, "total": 11_000},
    }
