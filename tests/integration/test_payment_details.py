"""Payment details on the profile under moto: customer numbers, debit accounts kept whole and shown masked,
the mandate, and the migration that numbers older accounts."""

from __future__ import annotations

import json

import boto3
import pytest

from billing.contracts.payment_details import is_customer_number
from billing.dal import keys
from billing.dal.customer_numbers import CustomerNumbers
from tests.conftest import assert_documented
from tests.factories import DEBIT_ACCOUNT, profile_body
from tests.integration.conftest import TABLE, Api


@pytest.fixture
def accounts(aws) -> Api:
    return Api("accounts")


def put(accounts: Api, account: str, body: dict) -> tuple[int, dict]:
    return accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)


def stored(account: str) -> dict:
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key=keys.key(keys.account_pk(account), keys.PROFILE))
    return item["Item"]


def test_each_account_gets_its_own_customer_number_once(accounts):
    numbers = []
    for account in ("acme", "beta", "gamma"):
        status, body = put(accounts, account, profile_body())
        assert status == 201 and is_customer_number(body["customer_number"]), body
        numbers.append(body["customer_number"])
    assert len(set(numbers)) == 3
    # the same body again is a safe retry: the same number, no new one taken
    status, again = put(accounts, "acme", profile_body())
    assert (status, again["customer_number"]) == (200, numbers[0])
    status, body = put(accounts, "delta", profile_body())
    assert body["customer_number"] not in numbers and int(body["customer_number"][:9]) == 4
    assert CustomerNumbers(TABLE, boto3.client("dynamodb")).account_of(numbers[1]) == "beta"


def test_a_debit_account_is_kept_whole_and_every_answer_masks_it(accounts):
    status, body = put(accounts, "acme", profile_body("direct_debit", "web"))
    assert status == 201, body
    assert_documented("PUT /v1/accounts/{account_id}", status, body)
    assert body["debit_account"] == {**DEBIT_ACCOUNT, "account_number": "****567"}
    assert body["mandate_status"] == "pending"
    assert "1234567" not in json.dumps(body)
    got = accounts.replay("get_account.json", path="/v1/accounts/acme")[1]
    assert got["debit_account"]["account_number"] == "****567" and "1234567" not in json.dumps(got)
    item = stored("acme")
    assert item["terms"]["M"]["debit_account"]["M"]["account_number"]["S"] == "1234567"
    assert item["mandate_status"]["S"] == "pending"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (profile_body("direct_debit", debit_account=None), "debit_account is required"),
        (profile_body(debit_account=DEBIT_ACCOUNT), "debit_account is only for"),
        (profile_body("direct_debit", debit_account={**DEBIT_ACCOUNT, "holder_kana": "山田"}), "holder_kana"),
        (profile_body("direct_debit", debit_account={**DEBIT_ACCOUNT, "account_number": "12345678"}), "account_number"),
        (profile_body("direct_debit", debit_account={**DEBIT_ACCOUNT, "bank_code": "１２３４"}), "bank_code"),
        (profile_body(payer_name_kana="ｱ" * 49), "payer_name_kana"),
    ],
    ids=["debit-without-account", "transfer-with-account", "kanji-holder", "long-number", "wide-digits", "long-payer"],
)
def test_bad_payment_details_are_400_and_create_nothing(accounts, body, complaint):
    status, answer = put(accounts, "acme", body)
    assert (status, answer["error"]["code"]) == (400, "invalid_request"), answer
    assert complaint in answer["error"]["message"]
    assert accounts.replay("get_account.json", path="/v1/accounts/acme")[0] == 404


def test_the_payer_name_is_kept_in_the_banks_form(accounts):
    status, body = put(accounts, "acme", profile_body(payer_name_kana="サンプルショウジ"))
    assert status == 201 and body["payer_name_kana"] == "ｻﾝﾌﾟﾙｼﾖｳｼﾞ"


def test_the_migration_numbers_older_accounts_once_and_can_run_again(accounts):
    # Given two accounts stored before customer numbers existed
    for account in ("old-1", "old-2"):
        assert put(accounts, account, profile_body())[0] == 201
        boto3.client("dynamodb").update_item(
            TableName=TABLE,
            Key=keys.key(keys.account_pk(account), keys.PROFILE),
            UpdateExpression="REMOVE customer_number",
        )
    numbers = CustomerNumbers(TABLE, boto3.client("dynamodb"))
    # When the migration runs twice
    first = [numbers.assign(account) for account in ("old-1", "old-2")]
    again = [numbers.assign(account) for account in ("old-1", "old-2")]
    # Then each got a new number once, and the second run changed nothing
    assert first == again and len(set(first)) == 2 and all(is_customer_number(n) for n in first)
    assert [stored(a)["customer_number"]["S"] for a in ("old-1", "old-2")] == first
    assert numbers.assign("nobody") is None
