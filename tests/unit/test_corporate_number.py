"""The billing contact's 法人番号: 13 ASCII digits with a right check digit or refused, and kept as issued."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.contracts.accounts import AccountProfile
from billing.contracts.change_requests import change_rows
from billing.errors import InvalidRequest
from billing.invoicing.invoice import Invoice
from billing.invoicing.issuer import corporate_check_digit, is_corporate_number
from billing.schema.platform import AccountIn, ChangeRequestIn
from billing.tariff import load_tariff
from tests.factories import account_profile, profile_body
from tests.unit.edge import typed
from tests.unit.test_invoice_pdf import make_invoice

# Real corporate numbers, as the National Tax Agency publishes them: 国税庁 itself, and two companies whose numbers
# are printed in public write-ups of the check digit (their first digit is the check digit of the other twelve).
REAL = ("7000012050002", "4011001098993", "2120901007402")


def body_with(number) -> dict:
    return profile_body(contact={"corporate_number": number})  # None: sent as JSON null


@pytest.mark.parametrize("number", REAL)
def test_real_corporate_numbers_pass_the_check_digit(number):
    assert is_corporate_number(number)
    assert corporate_check_digit(number[1:]) == int(number[0])


def test_the_check_digit_is_the_national_tax_agencys_formula():
    # 国税庁 7000012050002: its 12 base digits from the right weigh 1, 2, 1, 2, ...
    # 2x1 + 0x2 + 0x1 + 0x2 + 5x1 + 0x2 + 2x1 + 1x2 + 0 + 0 + 0 + 0 = 11; 9 - 11 mod 9 = 7
    assert corporate_check_digit("000012050002") == 7


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(min_value=1, max_value=8))
def test_any_other_first_digit_is_refused(base, shift):
    right = corporate_check_digit(base)
    wrong = (right - 1 + shift) % 9 + 1  # another digit 1-9
    assert is_corporate_number(f"{right}{base}")
    assert not is_corporate_number(f"{wrong}{base}")


@pytest.mark.parametrize(
    ("number", "complaint"),
    [
        ("6000012050002", "wrong check digit"),  # 国税庁's number, one off in its check digit
        ("7000012050003", "wrong check digit"),  # a base digit mistyped
        ("７０００0１２０５０００２", "should match pattern"),  # full-width digits
        ("700001205000", "should match pattern"),  # 12 digits
        ("70000120500021", "should match pattern"),  # 14 digits
        ("T7000012050002", "should match pattern"),  # a registration number is not a corporate number
        ("7000012050002\n", "should match pattern"),
        (" 7000012050002", "should match pattern"),
        ("7000-0120-50002", "should match pattern"),
        ("", "should match pattern"),
        (7000012050002, "valid string"),  # a JSON number
    ],
)
def test_a_put_body_with_a_bad_corporate_number_is_400_naming_the_field(number, complaint):
    with pytest.raises(InvalidRequest) as refused:
        typed(AccountIn, body_with(number))
    assert "billing_contact.corporate_number" in refused.value.message
    assert complaint in refused.value.message


def test_a_valid_corporate_number_is_kept_and_none_is_as_before():
    profile = typed(AccountIn, body_with("7000012050002")).as_profile("acme", load_tariff())
    assert profile.billing_contact.corporate_number == "7000012050002"
    assert profile.as_json()["billing_contact"]["corporate_number"] == "7000012050002"
    assert AccountProfile.from_json("acme", profile.as_json()) == profile
    plain = account_profile()
    assert plain.billing_contact.corporate_number is None
    assert "corporate_number" not in plain.as_json()["billing_contact"]
    # a JSON null is "none given", as for the other optional contact fields
    assert typed(AccountIn, body_with(None)).billing_contact.corporate_number is None


def test_a_change_request_sets_and_removes_it_like_other_contact_fields():
    profile = account_profile()
    # Given a request that gives the account a 法人番号
    request = typed(ChangeRequestIn, {"changes": {"billing_contact": {"corporate_number": "7000012050002"}}})
    changes = request.changes.as_changes().relative_to(profile)
    # Then the email shows it under its Japanese name, and applying it keeps it
    assert change_rows(changes, profile) == [("法人番号", None, "7000012050002")]
    numbered = changes.apply_to(profile)
    assert numbered.billing_contact.corporate_number == "7000012050002"
    # And null removes it again
    removal = typed(ChangeRequestIn, {"changes": {"billing_contact": {"corporate_number": None}}})
    assert (
        removal.changes.as_changes().relative_to(numbered).apply_to(numbered).billing_contact == profile.billing_contact
    )
    # While a bad one is refused before anything is stored
    for bad in ("7000012050001", "７000012050002", "700001205000"):
        with pytest.raises(InvalidRequest, match="corporate_number"):
            typed(ChangeRequestIn, {"changes": {"billing_contact": {"corporate_number": bad}}})


def test_the_invoice_keeps_the_corporate_number_it_was_issued_with():
    # Given an invoice issued to a recipient with a 法人番号
    base = make_invoice()
    invoice = replace(base, recipient=replace(base.recipient, corporate_number="7000012050002"))
    # When it is stored and read back
    record = invoice.as_record()
    assert record["recipient"]["corporate_number"] == "7000012050002"
    assert Invoice.from_record(record) == invoice
    # And a record written before the field existed reads as having none
    old = base.as_record()
    old["recipient"].pop("corporate_number")
    assert Invoice.from_record(old).recipient.corporate_number is None
