"""Billing profiles: every field is checked, and the recipient line follows 御中/様."""

import copy
import json
from dataclasses import replace
from datetime import date

import pytest

from billing.contracts.accounts import AccountProfile
from billing.errors import InvalidRequest
from billing.schema.platform import AccountIn
from billing.tariff import load_tariff
from tests.conftest import load_event
from tests.factories import profile_body
from tests.unit.edge import typed

PROFILE = profile_body()  # the design example: standard + bridge, bank transfer, postal, from 2026-04


def parse(body):
    return typed(AccountIn, body).as_profile("acme", load_tariff())


def changed(path, value):
    body = copy.deepcopy(PROFILE)
    target = body
    *parents, leaf = path.split(".")
    for name in parents:
        target = target[name]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return body


def test_the_sample_event_sends_the_factorys_profile():
    # A test that replays put_account.json as it is and one that PUTs profile_body() send the same account
    assert json.loads(load_event("put_account.json")["body"]) == profile_body()


def test_the_design_example_is_accepted_and_round_trips():
    profile = parse(PROFILE)
    assert profile.as_json() == {"account_id": "acme", **PROFILE, "usage_alerts": True}
    assert AccountProfile.from_json("acme", profile.as_json()) == profile


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        ("plan", "platinum", "not in the tariff"),
        ("options", ["no-such-option"], "not in the tariff"),
        ("options", ["bridge", "bridge"], "must not repeat"),
        ("options", "bridge", "options: Input should be a valid list"),
        ("payment_method", "cash", "payment_method: Input should be 'bank_transfer' or 'direct_debit'"),
        ("delivery_method", "fax", "delivery_method: Input should be 'web' or 'postal'"),
        ("contract_start", "2026/04/01", "contract_start: must be a date YYYY-MM-DD"),
        ("contract_start", "2026-02-30", "contract_start: not a calendar date"),
        ("billing_contact.postal_code", "1000005", "billing_contact.postal_code: String should match"),
        ("billing_contact.email", "not-an-email", "billing_contact.email: String should match"),
        ("billing_contact.company_name", "", "billing_contact.company_name: String should have at least 1"),
        ("billing_contact.company_name", KeyError, "billing_contact.company_name: Field required"),
        ("billing_contact.fax", "03-0000-0000", "billing_contact.fax: Extra inputs are not permitted"),
        ("plan", KeyError, "plan: Field required"),
        ("nickname", "x", "nickname: Extra inputs are not permitted"),
        ("contract_end", "2026-12-31", "contract_end: Extra inputs are not permitted"),
        ("contract_start", "20260401xx", "contract_start: must be a date YYYY-MM-DD"),
        ("contract_start", "2026-W14-3", "contract_start: must be a date YYYY-MM-DD"),
        ("billing_contact.postal_code", "１００-０００５", "billing_contact.postal_code: String should match"),
        ("billing_contact.company_name", "株式会社\x00", "billing_contact.company_name: String should match"),
        ("billing_contact.address", "東京都\n千代田区", "billing_contact.address: String should match"),
        ("options", ["bridge", 1], "options.1: Input should be a valid string"),
        ("usage_alerts", 0, "usage_alerts: Input should be a valid boolean"),
        ("usage_alerts", None, "usage_alerts: Input should be a valid boolean"),
    ],
)
def test_bad_profiles_are_refused_naming_the_field(path, value, complaint):
    with pytest.raises(InvalidRequest) as refused:
        parse(changed(path, value))
    assert complaint in refused.value.message


def test_a_named_person_is_addressed_with_sama():
    assert parse(PROFILE).billing_contact.recipient == "株式会社サンプル商事 経理部 山田 太郎 様"


def test_a_company_or_department_is_addressed_with_onchu():
    body = changed("billing_contact.person_name", KeyError)
    assert parse(body).billing_contact.recipient == "株式会社サンプル商事 経理部 御中"
    body = changed("billing_contact.department", KeyError)
    body["billing_contact"].pop("person_name")
    assert parse(body).billing_contact.recipient == "株式会社サンプル商事 御中"


def test_a_contract_is_active_from_its_start_month_through_its_end_month():
    profile = replace(parse(PROFILE), contract_end=date(2026, 12, 31))  # as a cancellation records it
    assert [profile.is_active_in(m) for m in ("2026-03", "2026-04", "2026-12", "2027-01")] == [
        False,
        True,
        True,
        False,
    ]


def test_usage_alerts_are_on_unless_the_profile_turns_them_off():
    assert parse(PROFILE).usage_alerts is True
    off = parse(changed("usage_alerts", False))
    assert off.usage_alerts is False and off.as_json()["usage_alerts"] is False
    assert AccountProfile.from_json("acme", off.as_json()) == off


def test_a_profile_stored_before_usage_alerts_existed_has_them_on():
    stored = parse(PROFILE).as_json()
    del stored["usage_alerts"]
    assert AccountProfile.from_json("acme", stored).usage_alerts is True
