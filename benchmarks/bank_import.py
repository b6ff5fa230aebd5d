"""Bank file import: AWS calls per record, its cost per record at 1,000 and 10,000 accounts, and a projection of
a 100,000-record day.

Method
------
* **moto in this process** (``mock_aws``), with the template's table, bucket, queues and bus made as the
  integration tests make them, with their moto patches: a transaction's backup per item and a query that reads its
  partition alone (``local.moto_backend``), as DynamoDB does.
* **The world** (``benchmarks._bank_world``): bank-transfer accounts stored with the domain's stores, each with
  its payer name and an issued invoice of ¥5,500; a 振込入金通知 of ``--records`` records in which accounts pay,
  half by customer number and half by payer name.
* **Counted**: every botocore call of the upload (``POST /v1/bank-statements``' domain call) and of each page as
  BankCreditsFunction handles it. The queue's receives and deletes are Lambda's and are not counted.
* **Timed**: the import's wall time per record (moto included, one process) with ``--accounts`` accounts, then
  again once ten times as many exist: matching reads by key, so the two should be within 1.5× of each other.
* **Projection** (not measured): a day of 100,000 records priced at the close's assumed AWS latencies
  (``benchmarks._projection``), the pages imported 50 at a time.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

import pytest
from moto import mock_aws

from benchmarks import _reporting as reporting
from benchmarks import _support as support
from benchmarks._projection import AWS_LATENCY_DEFAULT_MS, AWS_LATENCY_MS, priced

NAME = "bank_import"
PROJECTED_RECORDS = 100_000
CONCURRENCY = 50  # BankCreditsFunction's consumers at once


def run(accounts: int = 1_000, records: int = 500) -> dict:
    support.use_project_paths()
    from benchmarks._bank_world import MAX_CALLS_PER_RECORD, bank_file, import_calls, seed
    from billing.dal import clients
    from billing.dal.stores import clear
    from billing.settings import settings
    from local.moto_backend import patch_moto_transactions
    from tests.integration.conftest import TABLE, create_resources

    def forget() -> None:
        for cached in (clients.dynamodb, clients.s3, clients.sqs, clients.events, clients.sesv2, settings):
            cached.cache_clear()
        clear()

    records = min(records, accounts // 2)
    patch_moto_transactions()
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {"AWS_DEFAULT_REGION": "ap-northeast-1", "TABLE_NAME": TABLE}.items():
            env.setenv(name, value)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(name, "testing")
        forget()
        create_resources(env)
        started = time.perf_counter()
        numbers = seed(range(accounts))
        print(f"  seeded {accounts} accounts in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        small = import_calls(bank_file(numbers, list(range(records))))
        small_s = time.perf_counter() - started
        print(f"  imported {records} records with {accounts} accounts in {small_s:.1f} s")
        started = time.perf_counter()
        numbers |= seed(range(accounts, accounts * 10))
        print(f"  seeded {accounts * 9} more accounts in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        large = import_calls(bank_file(numbers, list(range(records, 2 * records)), first_inquiry=records + 1))
        large_s = time.perf_counter() - started
        print(f"  imported {records} records with {accounts * 10} accounts in {large_s:.1f} s")
        forget()
    per_record = Counter({name: count / records for name, count in small.items()})
    ratio = large_s / small_s
    checks = {
        f"{sum(small.values()) / records:.2f} calls per record <= {MAX_CALLS_PER_RECORD}": (
            sum(small.values()) / records <= MAX_CALLS_PER_RECORD
        ),
        f"the same calls with ten times the accounts: {dict(large) == dict(small)}": dict(large) == dict(small),
        f"time per record at {accounts * 10} accounts / at {accounts}: {ratio:.2f} <= 1.5": ratio <= 1.5,
    }
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": support.machine(),
        "accounts": accounts,
        "records": records,
        "calls": dict(small),
        "calls_per_record_total": round(sum(small.values()) / records, 3),
        "ms_per_record_local": {
            str(accounts): round(small_s / records * 1000, 2),
            str(accounts * 10): round(large_s / records * 1000, 2),
        },
        "ratio_10x_accounts": round(ratio, 2),
        "projection": project(per_record),
        "checks": checks,
    }


def project(per_record: Counter) -> dict:
    record_ms = priced(per_record)
    pages = math.ceil(PROJECTED_RECORDS / 100)
    return {
        "label": "PROJECTION (a model from measured counts and assumed latencies, not a measurement)",
        "records": PROJECTED_RECORDS,
        "assumptions": {
            "aws_latency_ms": AWS_LATENCY_MS,
            "other_call_ms": AWS_LATENCY_DEFAULT_MS,
            "pages": f"{pages} pages of 100, {CONCURRENCY} consumers, each record's calls one after another",
            "files": "a file is taken up to 1 MB (5,242 records of 200 bytes): a day of 100,000 is 20 files",
        },
        "requests": {name: round(n * PROJECTED_RECORDS) for name, n in sorted(per_record.items())},
        "minutes": round(PROJECTED_RECORDS * record_ms / CONCURRENCY / 1000 / 60, 1),
        "page_seconds": round(100 * record_ms / 1000, 1),
    }


def print_result(result: dict) -> None:
    reporting.print_machine(result)
    projection, few, many = result["projection"], result["accounts"], result["accounts"] * 10
    per_record = result["ms_per_record_local"]
    reporting.print_table(
        f"bank file of {result['records']} records (moto in-process)",
        [
            ("calls per record", result["calls_per_record_total"]),
            (f"ms per record, {few} accounts (local)", per_record[str(few)]),
            (f"ms per record, {many} accounts (local)", per_record[str(many)]),
            ("ratio", result["ratio_10x_accounts"]),
            ("projection: 100,000 records, min", projection["minutes"]),
            ("projection: one page of 100, s", projection["page_seconds"]),
        ],
    )
    reporting.print_checks(result["checks"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bank_import", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000, help="accounts at first (then ten times as many)")
    parser.add_argument("--records", type=int, default=500, help="records in each file (default 500)")
    args = parser.parse_args(argv)
    return reporting.finish(NAME, run(args.accounts, args.records), print_result)


if __name__ == "__main__":
    main()
