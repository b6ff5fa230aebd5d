"""What importing a bank file costs in AWS calls, counted call by call (the figures benchmarks/ projects).

The upload archives the file, records it and queues its pages (a message per page of 100 records); each page
reads its payers' customer numbers and names by key (one BatchGetItem per 100 keys), and each matched payment
is a Query of its account's open documents and one transaction (the payment with its allocation). So a record
costs at most 3 calls, and the cost does not grow with the number of accounts: matching never scans them.
"""

from __future__ import annotations

from benchmarks._bank_world import MAX_CALLS_PER_RECORD, bank_file, import_calls, seed


def test_a_record_costs_at_most_3_calls_and_the_same_whatever_the_number_of_accounts(aws):
    # Given 40 accounts, and a file in which 30 of them pay (half by customer number, half by payer name)
    numbers = seed(range(40))
    calls = import_calls(bank_file(numbers, list(range(30))))
    # Then each payment is one query and one transaction, the page's lookups one read
    assert calls["dynamodb.TransactWriteItems"] == 30 and calls["dynamodb.Query"] == 30
    assert calls["dynamodb.BatchGetItem"] == 1
    assert sum(calls.values()) / 30 <= MAX_CALLS_PER_RECORD, dict(calls)
    # When 360 more accounts exist (ten times as many) and the next 30 pay
    numbers |= seed(range(40, 400))
    more = import_calls(bank_file(numbers, list(range(30, 60)), first_inquiry=100))
    # Then the import makes exactly the same calls: matching reads by key and never scans the accounts
    assert more == calls, (dict(calls), dict(more))
