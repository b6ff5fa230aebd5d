"""Billing profiles: every field is checked, and the recipient line follows 御中/様."""

import copy

import pytest

from billing.accounts import AccountProfile
from billing.errors import InvalidRequest
from billing.tariff import load_tariff

PROFILE = {
    "plan": "standard",
    "options": ["bridge"],
    "payment_method": "bank_transfer",
    "delivery_method": "postal",
    "contract_start": "2026-04-01",
    "billing_contact": {
        "company_name": "株式会社サンプル商事",
        "department": "経理部",
        "person_name": "山田 太郎",
        "postal_code": "100-0005",
        "address": "東京都千代田区丸の内1-1-1",
        "email": "billing@example.co.jp",
        "phone": "03-1234-5678",
    },
}


def parse(body):
    return AccountProfile.parse("acme", body, load_tariff())


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


def test_the_design_example_is_accepted_and_round_trips():
    profile = parse(PROFILE)
    assert profile.as_json() == {"account_id": "acme", **PROFILE}
    assert AccountProfile.from_json("acme", profile.as_json()) == profile


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        ("plan", "platinum", "not in the tariff"),
        ("options", ["no-such-option"], "not in the tariff"),
        ("options", ["bridge", "bridge"], "must not repeat"),
        ("options", "bridge", "array of option names"),
        ("payment_method", "cash", "bank_transfer, direct_debit"),
        ("delivery_method", "fax", "web, postal"),
        ("contract_start", "2026/04/01", "YYYY-MM-DD"),
        ("contract_start", "2026-02-30", "YYYY-MM-DD"),
        ("billing_contact.postal_code", "1000005", "NNN-NNNN"),
        ("billing_contact.email", "not-an-email", "email address"),
        ("billing_contact.company_name", "", "non-empty"),
        ("billing_contact.company_name", KeyError, "missing company_name"),
        ("billing_contact.fax", "03-0000-0000", "unknown field(s) fax"),
        ("plan", KeyError, "missing plan"),
        ("nickname", "x", "unknown field(s) nickname"),
        ("contract_end", "2026-03-31", "before contract_start"),
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
    profile = parse(changed("contract_end", "2026-12-31"))
    assert [profile.is_active_in(m) for m in ("2026-03", "2026-04", "2026-12", "2027-01")] == [
        False,
        True,
        True,
        False,
    ]
