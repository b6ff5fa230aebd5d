"""A bank file's world for counting its AWS calls: bank-transfer accounts with an invoice due, a 振込入金通知
that pays half of them by customer number and half by payer name, imported page by page as BankCreditsFunction
handles it.

Shared by ``tests/integration/test_bank_import_calls.py`` (the bar, checked call by call) and
``benchmarks/bank_import.py`` (the figures and a projection). Needs moto (``mock_aws``) with the template's
resources and environment, as the integration tests make them.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date

import boto3

from benchmarks._debit_world import counted, received
from billing.bank_wiring import bank_imports, credit_page
from billing.dal import stores
from billing.dal.clients import to_item
from billing.schema.messages import BankCreditPageMessage
from local.bank import transfer_notice
from tests.factories import account_profile, issued_document

MAX_CALLS_PER_RECORD = 3  # the design's bar
PAY_BY = date(2026, 11, 30)
KANA = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄ"


def payer_name(n: int) -> str:
    """A distinct katakana name for account ``n`` (two letters per digit)."""
    return "ｶ)" + "".join(KANA[int(digit) * 2 : int(digit) * 2 + 2] for digit in f"{n:05d}")


def seed(accounts: range) -> dict[int, str]:
    """Bank-transfer accounts, each with its payer name and an issued invoice of ¥5,500 due on ``PAY_BY``; their
    customer numbers."""
    table, numbers = boto3.client("dynamodb"), {}
    for n in accounts:
        account_id = f"payer-{n:05d}"
        profile = account_profile("bank_transfer", "web", account_id=account_id, payer_name_kana=payer_name(n))
        _, contract = stores.accounts().create(profile)
        numbers[n] = contract.customer_number
        number = f"INV-202610-{n + 1:07d}"
        item = issued_document(account_id, number, "bank_transfer", 5_500, PAY_BY)
        table.put_item(TableName=os.environ["TABLE_NAME"], Item=to_item(item))
    return numbers


def bank_file(numbers: dict[int, str], paying: list[int], first_inquiry: int = 1) -> bytes:
    """A day's 振込入金通知: each of ``paying`` pays its ¥5,500, the even ones by customer number, the odd by name."""
    credits = []
    for i, n in enumerate(paying):
        by_number = {"payer_code": numbers[n]} if n % 2 == 0 else {}
        credits.append(
            {
                "inquiry_number": f"{first_inquiry + i:06d}",
                "booked_on": "081201",
                "amount": 5_500,
                "payer_name": payer_name(n) if n % 2 else "ﾌﾘｺﾐﾆﾝ",
                **by_number,
            }
        )
    return transfer_notice(credits, created="081201")


def import_calls(body: bytes) -> Counter:
    """Every call of importing ``body``: the upload's, then each page as BankCreditsFunction handles it (the
    queue's receives and deletes are Lambda's, not the function's)."""
    with counted() as calls:
        bank_imports().start(body)
    for message in received("BANK_CREDIT_PAGES_QUEUE_URL"):
        with counted() as more:
            bank_imports().import_page(credit_page(BankCreditPageMessage.model_validate(message)))
        calls.update(more)
    return calls
