"""The one-off migration: documents whose payments the first ledger stored as a list become a map by payment id,
which the ledger now writes one key of; a document paid after it is paid as any other."""

from __future__ import annotations

from datetime import date

import boto3

from billing.dal import keys, stores
from billing.dal.clients import from_item, to_item
from billing.dal.ledger import ledger_fields
from billing.payments.ledger import Payment
from tests.integration.conftest import TABLE
from tools.migrate_payments import migrate


def test_a_list_of_payments_becomes_a_map_and_the_document_can_be_paid_again(aws):
    table = boto3.client("dynamodb")
    table.put_item(TableName=TABLE, Item=to_item({"pk": keys.account_pk("acme"), "sk": keys.PROFILE}))
    legacy = {
        "pk": keys.account_pk("acme"),
        "sk": keys.document_sk("INV-202610-0000001"),
        "invoice_number": "INV-202610-0000001",
        **ledger_fields("acme", "INV-202610-0000001", 7_700, date(2026, 11, 30)),
        "paid_amount": 1_000,
        "payments": [{"payment_id": "early", "received_on": "2026-11-10", "amount": 1_000, "method": "bank_transfer"}],
    }
    table.put_item(TableName=TABLE, Item=to_item(legacy))
    assert migrate(TABLE, progress=lambda line: None) == 1
    assert migrate(TABLE, progress=lambda line: None) == 0  # run again: nothing to do
    key = {"pk": {"S": legacy["pk"]}, "sk": {"S": legacy["sk"]}}
    item = from_item(table.get_item(TableName=TABLE, Key=key)["Item"])
    assert item["payments"] == {"early": legacy["payments"][0]} and item["paid_amount"] == 1_000
    # And the ledger pays it by key, the earlier payment kept
    stores.ledger().pay("acme", Payment("later", date(2026, 11, 20), 6_700, "bank_transfer"))
    item = from_item(table.get_item(TableName=TABLE, Key=key)["Item"])
    assert sorted(item["payments"]) == ["early", "later"] and item["paid_amount"] == 7_700
