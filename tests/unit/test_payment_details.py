"""Payment details on the profile: the debit account in the bank's form and masked, customer numbers."""

from __future__ import annotations

import pytest

from billing.contracts.payment_details import (
    AccountType,
    DebitAccount,
    customer_number,
    is_customer_number,
    payer_name_kana_of,
)

GIVEN = {
    "bank_code": "0001",
    "branch_code": "123",
    "account_type": "ordinary",
    "account_number": "4567",
    "holder_kana": "カ）サンプルショウジ",
}


def test_a_debit_account_is_kept_in_the_banks_form():
    account = DebitAccount.of(**GIVEN)
    assert account.account_number == "0004567" and account.holder_kana == "ｶ)ｻﾝﾌﾟﾙｼﾖｳｼﾞ"
    assert account.account_type is AccountType.ORDINARY and account.account_type.zengin_code == "1"
    assert DebitAccount.from_json(account.as_json()) == account


def test_every_answer_shows_the_number_masked():
    shown = DebitAccount.of(**GIVEN).shown()
    assert shown["account_number"] == "****567" and "4567" not in str(shown).replace("****567", "")


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("bank_code", "001", "bank_code must be 4 ASCII digits"),
        ("bank_code", "０００１", "bank_code must be 4 ASCII digits"),
        ("branch_code", "12a", "branch_code must be 3 ASCII digits"),
        ("account_number", "12345678", "account_number must be 1 to 7 ASCII digits"),
        ("account_number", "", "account_number must be 1 to 7 ASCII digits"),
        ("account_type", "checking", "is not a valid AccountType"),
        ("holder_kana", "山田太郎", "may hold only katakana"),
        ("holder_kana", "ｱ" * 31, "at most 30"),
    ],
)
def test_a_bad_debit_account_is_refused_naming_the_field(field, value, complaint):
    with pytest.raises(ValueError, match=complaint):
        DebitAccount.of(**{**GIVEN, field: value})


def test_customer_numbers_are_ten_digits_with_a_check_digit_and_never_all_zeros():
    numbers = [customer_number(n) for n in (1, 2, 99, 10**9 - 1)]
    assert numbers[0] == "0000000018" and all(len(n) == 10 and is_customer_number(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert not is_customer_number("0000000000") and not is_customer_number("0000000019")
    assert not is_customer_number("000000001８")
    with pytest.raises(ValueError):
        customer_number(0)


def test_a_single_mistyped_digit_is_never_another_customers_number():
    number = customer_number(123_456)
    for position in range(10):
        for digit in "0123456789":
            typo = number[:position] + digit + number[position + 1 :]
            assert typo == number or not is_customer_number(typo), typo


def test_the_payer_name_may_be_longer_than_a_holder_name():
    assert payer_name_kana_of("ｱ" * 48) == "ｱ" * 48
    with pytest.raises(ValueError, match="at most 48"):
        payer_name_kana_of("ｱ" * 49)
