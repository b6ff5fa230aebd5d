"""The issuer: its registration number is checked, and a bad file fails at load naming the field."""

import copy
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.invoicing.issuer import (
    DEFAULT_PATH,
    IssuerError,
    corporate_check_digit,
    is_registration_number,
    load_issuer,
    parse_issuer,
)


def raw():
    with open(DEFAULT_PATH, "rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize(
    "number",
    [
        "T7000012050002",  # the National Tax Agency's own corporate number, as published
        "T5999901234567",  # the shipped fictitious sample
        "T9999999999999",  # weighted sum divisible by 9 gives check digit 9, never 0
    ],
)
def test_a_registration_number_with_the_right_check_digit_is_valid(number):
    assert is_registration_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "T6000012050002",  # check digit off by one
        "T8000012050002",
        "T0000012050002",  # a check digit is never 0
        "7000012050002",  # no T
        "t7000012050002",  # lower-case t
        "T700001205000",  # 12 digits
        "T70000120500021",  # 14 digits
        "T-7000012050002",
        " T7000012050002",
        "Ｔ７０００００１２０５０００２",  # full-width
        7000012050002,
        None,
    ],
)
def test_a_malformed_or_miscomputed_registration_number_is_invalid(number):
    assert not is_registration_number(number)


def test_the_check_digit_follows_the_national_tax_agency_formula():
    # Given the 12 digits of 7000012050002, weights 1,2,1,2... from the right:
    # 2*1 + 5*1 + 2*1 + 1*2 = 11; 9 - 11 mod 9 = 7
    assert corporate_check_digit("000012050002") == 7


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_exactly_one_leading_digit_validates_any_twelve_digits(base):
    valid = [d for d in "0123456789" if is_registration_number(f"T{d}{base}")]
    assert valid == [str(corporate_check_digit(base))]


def test_the_shipped_sample_issuer_is_fictitious_and_loads():
    issuer = load_issuer()
    assert "架空" in issuer.name
    assert is_registration_number(issuer.registration_number)
    assert issuer.bank.account_type == "普通"
    assert load_issuer() is issuer  # parsed once per process


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("registration_number"), "registration_number"),
        (lambda r: r.update(registration_number="T5999901234568"), "registration_number"),
        (lambda r: r.update(name=""), "name"),
        (lambda r: r.update(postal_code="1000000"), "postal_code"),
        (lambda r: r.update(phone="call us"), "phone"),
        (lambda r: r.pop("bank"), "bank"),
        (lambda r: r["bank"].update(account_type="貯蓄"), "bank.account_type"),
        (lambda r: r["bank"].update(account_number="12345"), "bank.account_number"),
        (lambda r: r["bank"].update(account_holder="Sample Mail Inc."), "bank.account_holder"),
        (lambda r: r["bank"].update(account_holder="株式会社サンプル"), "bank.account_holder"),
        (lambda r: r["bank"].pop("branch_name"), "bank.branch_name"),
    ],
)
def test_a_bad_issuer_fails_at_load_naming_the_field(mutate, field):
    broken = copy.deepcopy(raw())
    mutate(broken)
    with pytest.raises(IssuerError, match=field):
        parse_issuer(broken)


def test_a_bad_issuer_file_on_disk_names_the_field(tmp_path):
    # Given the shipped file with one digit of the registration number changed
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("T5999901234567", "T5999901234568")
    path = tmp_path / "issuer.toml"
    path.write_text(text, encoding="utf-8")
    # When it is loaded, then the error names the field and shows the bad value
    with pytest.raises(IssuerError, match=r"registration_number .*T5999901234568"):
        load_issuer(path)


def test_an_issuer_file_that_is_not_toml_is_an_issuer_error(tmp_path):
    path = tmp_path / "issuer.toml"
    path.write_text("name = 株式会社\n", encoding="utf-8")
    with pytest.raises(IssuerError, match=r"issuer\.toml"):
        load_issuer(path)
