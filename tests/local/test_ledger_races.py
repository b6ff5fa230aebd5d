"""Writers racing for one invoice on the local stack's DynamoDB (served as AWS serves it: each request whole,
conditions and transactions atomic): eight payments at once, two imports of the same payments, two operators
placing one payment. No yen is allocated twice and none is lost."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import boto3

from billing.dal import keys
from billing.dal.bank_credits import BankCreditStore
from billing.dal.clients import to_item
from billing.dal.ledger import LedgerStore, ledger_fields
from billing.errors import PaymentAlreadyAllocated
from billing.payments.bank_credits import MatchedBy
from billing.payments.bank_statements import Credit, ReceivingAccount
from billing.payments.ledger import Payment
from tests.local.support import new_account_id
from tests.stacks import RunningStack

WRITERS = 8
DUE = 12_100


def table_and_client(local_stack: RunningStack):
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

    return table, client


def owing_account(table: str, seed) -> tuple[str, str]:
    """A new account with one invoice of 12,100 yen, in the stack's table."""
    account, number = new_account_id(), "INV-202610-9999999"
    seed.put_item(TableName=table, Item=to_item({"pk": keys.account_pk(account), "sk": keys.PROFILE}))
    document = {
        "pk": keys.account_pk(account),
        "sk": keys.document_sk(number),
        "invoice_number": number,
        **ledger_fields(account, number, DUE, date(2026, 11, 30)),
    }
    seed.put_item(TableName=table, Item=to_item(document))
    return account, number


def test_eight_writers_paying_one_invoice_never_over_allocate(local_stack: RunningStack):
    # Given an account with one invoice of 12,100 yen, in the stack's table
    table, client = table_and_client(local_stack)
    seed = client()
    account, number = owing_account(table, seed)

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


def credit(inquiry: int, amount: int = 2_000) -> Credit:
    account = ReceivingAccount("0999", "001", "1", "1234567")
    return Credit(account, f"{inquiry:06d}", date(2026, 12, 1), amount, None, "ﾀﾞﾚｶ", False, inquiry)


def test_two_imports_and_two_operators_racing_for_one_invoice_never_over_allocate(local_stack: RunningStack):
    table, client = table_and_client(local_stack)
    seed = client()
    account, number = owing_account(table, seed)
    other, _ = owing_account(table, seed)
    # When eight bank-file payments of 2,000 yen for the account are recorded at once, by two imports each
    credits = [credit(100 + n) for n in range(WRITERS)]

    def record(c: Credit):
        store = BankCreditStore(table, client=client())
        return [store.record(c, "file-a", account, MatchedBy.CUSTOMER_NUMBER), store.record(c, "file-b", account, None)]

    with ThreadPoolExecutor(WRITERS) as pool:
        recorded = [r for pair in pool.map(record, credits) for r in pair]
    # Then the invoice took exactly its 12,100 yen, the rest is credit, and each payment was recorded once
    item = seed.get_item(TableName=table, Key=keys.key(keys.account_pk(account), keys.document_sk(number)))["Item"]
    profile = seed.get_item(TableName=table, Key=keys.key(keys.account_pk(account), keys.PROFILE))["Item"]
    assert int(item["paid_amount"]["N"]) == DUE
    assert int(profile["credit_balance"]["N"]) == WRITERS * 2_000 - DUE
    assert sum(r.by_this_file for r in recorded) == WRITERS  # the first import's, each once; the second's duplicates

    # When two operators give one unmatched payment to two accounts at once
    waiting = credit(900, 5_000)
    BankCreditStore(table, client=client()).record(waiting, "file-c", None, None)

    def give(to: str):
        try:
            return BankCreditStore(table, client=client()).allocate(waiting.payment_id, to).account_id
        except PaymentAlreadyAllocated:
            return None

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(give, [account, other]))
    # Then exactly one of them placed it, and the 5,000 yen went to that account alone
    (winner,) = [o for o in outcomes if o is not None]
    stored = BankCreditStore(table, client=client()).get(waiting.payment_id)
    assert (stored.account_id, sum(a.amount for a in stored.allocations) + stored.credited) == (winner, 5_000)
    loser = other if winner == account else account
    loser_profile = seed.get_item(TableName=table, Key=keys.key(keys.account_pk(loser), keys.PROFILE))["Item"]
    loser_document = seed.get_item(TableName=table, Key=keys.key(keys.account_pk(loser), keys.document_sk(number)))[
        "Item"
    ]
    assert int(loser_document["paid_amount"]["N"]) == (DUE if loser == account else 0)
    assert int(loser_profile.get("credit_balance", {"N": "0"})["N"]) == (
        WRITERS * 2_000 - DUE if loser == account else 0
    )
