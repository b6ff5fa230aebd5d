"""Eight writers pay one invoice at the same time on the local stack's DynamoDB (served as AWS serves it: each
request whole, conditions and transactions atomic): no yen is allocated twice and none is lost."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import boto3

from billing.dal import keys
from billing.dal.clients import to_item
from billing.dal.ledger import LedgerStore, ledger_fields
from billing.payments.ledger import Payment
from tests.local.support import new_account_id
from tests.stacks import RunningStack

WRITERS = 8
DUE = 12_100


def test_eight_writers_paying_one_invoice_never_over_allocate(local_stack: RunningStack):
    # Given an account with one invoice of 12,100 yen, in the stack's table
    config = local_stack.config
    table = json.loads(local_stack.state_path.read_text())["resources"]["BillingTable"]["ref"]

    def client():
        return boto3.client(
            "dynamodb",
            endpoint_url=config["dynamodb_endpoint"],
            region_name=config["region"],
            aws_access_key_id=config["aws_access_key_id"],
            aws_secret_access_key=config["aws_secret_access_key"],
        )

    account, number = new_account_id(), "INV-202610-9999999"
    seed = client()
    seed.put_item(TableName=table, Item=to_item({"pk": keys.account_pk(account), "sk": keys.PROFILE}))
    document = {
        "pk": keys.account_pk(account),
        "sk": keys.document_sk(number),
        "invoice_number": number,
        **ledger_fields(account, number, DUE, date(2026, 11, 30)),
    }
    seed.put_item(TableName=table, Item=to_item(document))

    # When 8 writers apply 2,000 yen each at once (16,000 in all), each payment sent twice
    def pay(writer: int) -> list:
        store = LedgerStore(table, client())
        payment = Payment(f"race-{account}-{writer}", date(2026, 11, 20), 2_000, "bank_transfer")
        return [store.pay(account, payment), store.pay(account, payment)]

    with ThreadPoolExecutor(WRITERS) as pool:
        results = [result for pair in pool.map(pay, range(WRITERS)) for result in pair]

    # Then the invoice took exactly its 12,100 yen and the other 3,900 became credit
    item = seed.get_item(TableName=table, Key=keys.key(keys.account_pk(account), keys.document_sk(number)))["Item"]
    profile = seed.get_item(TableName=table, Key=keys.key(keys.account_pk(account), keys.PROFILE))["Item"]
    assert int(item["paid_amount"]["N"]) == DUE
    assert sum(int(p["M"]["amount"]["N"]) for p in item["payments"]["M"].values()) == DUE
    assert int(profile["credit_balance"]["N"]) == WRITERS * 2_000 - DUE
    # And each payment was applied once: its second sending changed nothing and says so
    first, again = results[0::2], results[1::2]
    assert all(r.first_time for r in first) and not any(r.first_time for r in again)
    assert [(r.allocations, r.credited) for r in first] == [(r.allocations, r.credited) for r in again]
    assert sum(a.amount for r in first for a in r.allocations) == DUE
