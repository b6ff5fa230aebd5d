"""What a debit run and its results cost in AWS calls, counted call by call (the figures benchmarks/ projects).

A run's planning is a Query and a BatchGetItem per page of up to 100 documents, and one transaction per
account; applying a result reads nothing: a paid debit is one transaction and its InvoicePaid, a failed one a
transaction, the transfer request and PaymentFailed. So each added account costs at most 2 calls to plan, and
each result record at most 3 to import and apply, whatever the size of the run.
"""

from __future__ import annotations

from datetime import date

from benchmarks._debit_world import (
    MAX_PLAN_CALLS_PER_ACCOUNT,
    MAX_RESULT_CALLS_PER_RECORD,
    result_calls,
    run_calls,
    seed,
)
from billing.dal import keys, stores


def test_planning_costs_at_most_2_calls_per_account_and_a_result_at_most_3_per_record(aws):
    # Given 20 direct-debit accounts debited on one date and 60 on another
    small_date, large_date = date(2026, 11, 27), date(2026, 12, 28)
    seed(range(20), small_date)
    seed(range(20, 80), large_date)
    # When each date's run is made
    small, large = run_calls(small_date), run_calls(large_date)
    # Then each account holds its documents in one transaction, and the reads are per page, not per account
    assert (small["dynamodb.TransactWriteItems"], large["dynamodb.TransactWriteItems"]) == (20, 60)
    assert large["dynamodb.BatchGetItem"] <= len(keys.all_shards())  # one per page; every page here is a shard's
    added = sum(large.values()) - sum(small.values())
    assert added / 40 <= MAX_PLAN_CALLS_PER_ACCOUNT, (dict(small), dict(large))
    # When the bank's result for the larger run comes back, half paid and half failed (資金不足)
    numbers = sorted(stores.accounts().get(f"debtor-{n:04d}").customer_number for n in range(20, 80))
    results = result_calls(large_date, {number: "1" for number in numbers[::2]})
    # Then importing and applying it reads nothing per record: at most 3 calls each (a failure: its
    # transaction, the transfer request and PaymentFailed; a payment: its transaction and InvoicePaid)
    assert results["dynamodb.TransactWriteItems"] == 60 and results["sesv2.SendEmail"] == 30
    assert sum(results.values()) / 60 <= MAX_RESULT_CALLS_PER_RECORD, dict(results)
    assert (results["dynamodb.GetItem"], results["dynamodb.Query"]) == (1, 1)  # the run and its parts, once
