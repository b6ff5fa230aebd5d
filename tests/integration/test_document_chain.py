"""A month's chain of documents under moto: returns stay returned across corrections, even in a race."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3

from billing.dal import clients
from billing.dal.documents import DocumentRequest
from billing.errors import BillingError
from billing.invoicing.returns import split_tax_included
from billing.schema.documents import CorrectionIn, CreditNoteIn
from billing.vocabulary import DocumentKind
from tests.factories import profile_body
from tests.integration.billing_month import Month
from tests.integration.conftest import TABLE, Api

ORIGINAL = "INV-202610-0000001"
NO_OPTIONS = {"options": []}  # standard alone: ¥4,000 + ¥400 tax, where the original billed ¥7,700


def correct(desk: Api, number: str = ORIGINAL, key: str = "fix", changes: dict | None = None):
    body = {"reason": "料金区分の訂正"} | ({"changes": changes} if changes is not None else {})
    path = f"/v1/invoices/{number}/corrections"
    return desk.replay("correct_invoice.json", path=path, body=body, headers={"idempotency-key": key})


def credit(desk: Api, amount: int, number: str = ORIGINAL, key: str | None = None):
    path = f"/v1/invoices/{number}/credit-notes"
    body = {"reason": "障害による返金", "amount": amount}
    return desk.replay("credit_note.json", path=path, body=body, headers={"idempotency-key": key})


def documents_of(account: str, month: str = "2026-10") -> list[dict]:
    response = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": f"ACCOUNT#{account}"}, ":prefix": {"S": f"INVOICE#{month}#"}},
        ConsistentRead=True,
    )
    return [clients.from_item(item) for item in response["Items"]]


def chain_of(account: str, month: str = "2026-10") -> dict | None:
    key = {"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": f"CHAIN#{month}"}}
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    return clients.from_item(item) if item else None


def test_a_return_stays_returned_against_the_correction_that_replaces_its_invoice(closed, desk):
    # Given the whole ¥7,700 of October's invoice returned
    assert credit(desk, 7_700, key="r1")[0] == 201
    # When the invoice is corrected (it bills ¥7,700 again)
    status, correction = correct(desk)
    assert (status, correction["total"]) == (201, 7_700), correction
    # Then nothing more can be returned against the correction: the month's chain has returned it all
    status, body = credit(desk, 7_700, number=correction["invoice_number"], key="r2")
    assert (status, body["error"]["code"]) == (409, "credit_exceeds_invoice")
    assert "¥0 left" in body["error"]["message"] and "¥7,700 already returned" in body["error"]["message"]
    assert credit(desk, 1, number=correction["invoice_number"], key="r3")[0] == 409
    returns = [d for d in documents_of("acme") if d["kind"] == "credit_note"]
    assert [d["total"] for d in returns] == [7_700]
    assert chain_of("acme")["returned"] == 7_700


def test_a_correction_below_what_was_returned_is_409_naming_the_amounts_and_changes_nothing(closed, desk):
    # Given ¥7,000 of the ¥7,700 returned
    assert credit(desk, 7_000, key="r1")[0] == 201
    before = documents_of("acme")
    # When a correction would bill ¥4,400
    status, body = correct(desk, changes=NO_OPTIONS)
    # Then it is refused, naming both amounts, and nothing is stored: no document, no number taken
    assert (status, body["error"]["code"]) == (409, "credit_exceeds_invoice"), body
    assert "¥4,400" in body["error"]["message"] and "¥7,000" in body["error"]["message"]
    assert ORIGINAL in body["error"]["message"]
    assert documents_of("acme") == before
    # And a correction that covers the returns takes the series' next number: no gap
    status, body = correct(desk, key="fix-2")
    assert (status, body["invoice_number"], body["total"]) == (201, "INV-202610-0000002", 7_700)
    # And ¥700 is left to return against it, not ¥7,700
    assert credit(desk, 701, number=body["invoice_number"], key="r2")[0] == 409
    assert credit(desk, 700, number=body["invoice_number"], key="r3")[0] == 201


def test_the_returns_of_a_4400_invoice_never_give_back_more_than_its_400_of_tax(closed, desk):
    # Given October corrected to ¥4,400 (¥400 of tax)
    status, correction = correct(desk, changes=NO_OPTIONS)
    assert (status, correction["total"], correction["tax"]) == (201, 4_400, 400)
    # When ten returns of ¥395 and one of ¥450 give it all back (each rounded alone would return ¥401 of tax)
    taxes = []
    for n, amount in enumerate([395] * 10 + [450]):
        status, body = credit(desk, amount, number=correction["invoice_number"], key=f"r{n}")
        assert status == 201, body
        taxes.append(body["tax"])
    # Then they return exactly the invoice's tax, and nothing more can be returned
    assert sum(taxes) == 400 and taxes[0] == split_tax_included(395, 10)[1]
    assert (chain_of("acme")["returned"], chain_of("acme")["returned_tax"]) == (4_400, 400)
    assert credit(desk, 1, number=correction["invoice_number"], key="more")[0] == 409


def serialised_dynamodb():
    """One DynamoDB request at a time, as DynamoDB itself (and the local stack's moto) serves them.

    moto in this process is not atomic under threads; the outcome of each request must come from its
    conditions, never from two requests interleaving inside moto."""
    lock = threading.Lock()

    def acquire(**_) -> None:  # None: botocore takes a before-call handler's answer for the response
        lock.acquire()

    def release(**_) -> None:
        lock.release()

    events = clients.dynamodb().meta.events
    events.register("before-call.dynamodb", acquire, unique_id="serial-dynamodb-acquire")
    for after in ("after-call.dynamodb", "after-call-error.dynamodb"):
        events.register(after, release, unique_id=f"serial-{after}")


def cancelled_transactions() -> list[list[str]]:
    """The cancellation reasons (one per item) of every TransactWriteItems DynamoDB refuses from now on.

    Read off the answers botocore parses, so the code under test runs as it does in production."""
    cancelled: list[list[str]] = []

    def record(parsed: dict, **_) -> None:
        if parsed.get("Error", {}).get("Code") == "TransactionCanceledException":
            cancelled.append([reason.get("Code", "None") for reason in parsed.get("CancellationReasons", [])])

    events = clients.dynamodb().meta.events
    events.register("after-call.dynamodb.TransactWriteItems", record, unique_id="count-cancelled-transactions")
    return cancelled


# What one correction (C) and two returns (R) of one invoice answer, whichever order they are served in: C
# first replaces the invoice (both returns 409 invoice_replaced); a return first leaves ¥4,700 and C bills
# ¥4,400, so C still goes and the return after it names a replaced invoice; both returns first give back
# ¥6,000, more than C bills (409 credit_exceeds_invoice). Anything else would be two requests interleaved.
SERIAL_OUTCOMES = {
    ("correction:correction", "credit_note:invoice_replaced", "credit_note:invoice_replaced"),
    ("correction:correction", "credit_note:credit_note", "credit_note:invoice_replaced"),
    ("correction:credit_exceeds_invoice", "credit_note:credit_note", "credit_note:credit_note"),
}
CHAIN = 4  # the chain's place in the documents' transaction (billing/dal/documents.py)
ORIGINAL_ITEM = 2  # the document the request names


def test_one_correction_and_two_returns_at_once_never_return_more_than_the_chain_bills(aws):
    # Given 16 accounts each billed ¥7,700 for October
    month, accounts = Month(), [f"race-{n:02d}" for n in range(16)]
    for account in accounts:
        body = profile_body("bank_transfer", "web", person_name=None)
        assert month.accounts.replay("put_account.json", path=f"/v1/accounts/{account}", body=body)[0] == 201
        month.report(account, 9_000, "2026-10-10T12:00:00+09:00")
    month.run_close("2026-10")
    desk = Api("invoice_documents").module
    desk.stores.documents(), desk.closer()  # built once, before the threads share them
    serialised_dynamodb()
    cancelled = cancelled_transactions()
    numbers = {account: documents_of(account)[0]["invoice_number"] for account in accounts}
    rng = random.Random(20261206)

    # When, for each, a correction to ¥4,400 and two returns of ¥3,000 are sent at the same moment
    def race(account: str) -> list[str]:
        number, start = numbers[account], threading.Barrier(3)
        asks = [
            (
                DocumentRequest(DocumentKind.CORRECTION, number, {"n": 1}),
                CorrectionIn(reason="訂正", changes=NO_OPTIONS),
            ),
            (DocumentRequest(DocumentKind.CREDIT_NOTE, number, {"n": 2}), CreditNoteIn(reason="返金", amount=3_000)),
            (DocumentRequest(DocumentKind.CREDIT_NOTE, number, {"n": 3}), CreditNoteIn(reason="返金", amount=3_000)),
        ]
        delays = [rng.uniform(0, 0.004) for _ in asks]

        def send(ask) -> str:
            (request, body), delay = ask
            start.wait()
            threading.Event().wait(delay)
            make = desk.correction if request.kind == DocumentKind.CORRECTION else desk.credit_note
            try:
                return f"{request.kind}:{make(request, body)['kind']}"
            except BillingError as refused:
                assert refused.status == 409, refused.message
                return f"{request.kind}:{refused.code}"

        with ThreadPoolExecutor(3) as pool:
            return list(pool.map(send, zip(asks, delays, strict=True)))

    outcomes = Counter(tuple(sorted(race(account))) for account in accounts)

    # Then in every account the latest document bills at least what the chain returned, the chain holds
    # exactly what its return invoices gave back, and their tax is the tax of that sum
    for account in accounts:
        documents = documents_of(account)
        current = [d for d in documents if d["kind"] != "credit_note" and d["status"] != "replaced"]
        returns = [d for d in documents if d["kind"] == "credit_note"]
        chain = chain_of(account) or {"returned": 0, "returned_tax": 0}
        assert len(current) == 1, documents
        assert current[0]["total"] >= chain["returned"] == sum(d["total"] for d in returns), (account, documents)
        assert chain["returned_tax"] == sum(d["tax"] for d in returns)
        assert chain["returned_tax"] == split_tax_included(chain["returned"], 10)[1]
        if current[0]["kind"] == "correction":
            assert chain["returned"] <= 4_400
        # and it asks for its total less every return of the month, as the payment ledger keeps it
        assert current[0]["amount_due"] == current[0]["total"] - chain["returned"], (account, documents)
    # And the requests did race: some were built from a chain another request moved before they were stored,
    # were refused by the chain's condition (and the document's payment state, which a return lowers too) and
    # built again
    rebuilt = [r for r in cancelled if r[CHAIN] == "ConditionalCheckFailed"]
    assert rebuilt, (cancelled, dict(outcomes))
    # And yet each account answered as if its three requests had been served one after another
    assert set(outcomes) <= SERIAL_OUTCOMES, dict(outcomes)


def test_returns_made_before_chains_existed_still_count(closed, desk):
    # Given ¥7,000 returned, and the month's chain item gone (returns made before chains were kept)
    assert credit(desk, 7_000, key="r1")[0] == 201
    key = {"pk": {"S": "ACCOUNT#acme"}, "sk": {"S": "CHAIN#2026-10"}}
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key=key)
    # Then the month's return invoices are what the chain returned: ¥700 is left, and ¥4,400 is too little
    assert credit(desk, 701, key="r2")[1]["error"]["code"] == "credit_exceeds_invoice"
    assert correct(desk, changes=NO_OPTIONS)[1]["error"]["code"] == "credit_exceeds_invoice"
    assert credit(desk, 700, key="r3")[0] == 201
    assert (chain_of("acme")["returned"], chain_of("acme")["returned_tax"]) == (7_700, 700)
