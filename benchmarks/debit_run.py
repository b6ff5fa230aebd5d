"""Debit run: AWS calls per account to plan a run and per record to apply the bank's result; a 1,000,000 projection.

Method
------
* **moto in this process** (``mock_aws``), with the template's table, bucket, queues and bus made as the
  integration tests make them (``tests.integration.conftest.create_resources``), and its transaction backup
  per item (``local.moto_backend.patch_moto_transactions``, the same answers).
* **The world** (``benchmarks._debit_world``): ``--accounts`` direct-debit accounts stored with the domain's
  stores, each with an issued invoice of ¥5,500 debited on 2026-12-28, and a quarter as many on 2026-11-27.
* **Counted**: every botocore call of the run's start, of each page as DebitRunFunction handles it (the last one
  archiving the file), of the import (``POST .../results``' domain call) and of each record's result as
  DebitResultsFunction applies it (half paid, half 資金不足). The queue's receives and deletes are Lambda's, not
  the functions', and are not counted. **Per account** is the difference between the two runs over the
  difference in accounts: what one more account costs, the run's fixed calls (16 shards' pages, the file) aside.
* **Timed**: wall time of each phase, moto included (one process), as a local figure only.
* **Projection** (not measured): 1,000,000 accounts priced at the close's assumed AWS latencies
  (``benchmarks._projection``), the 16 shards' pages walked in parallel, one account's transaction after
  another within a page.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from datetime import date

import pytest
from moto import mock_aws

from benchmarks import _reporting as reporting
from benchmarks import _support as support
from benchmarks._projection import AWS_LATENCY_DEFAULT_MS, AWS_LATENCY_MS, latency_of, priced

NAME = "debit_run"
PROJECTED_ACCOUNTS = 1_000_000
SMALL, LARGE = date(2026, 11, 27), date(2026, 12, 28)


def run(accounts: int = 1_000) -> dict:
    support.use_project_paths()
    from benchmarks._debit_world import (
        MAX_PLAN_CALLS_PER_ACCOUNT,
        MAX_RESULT_CALLS_PER_RECORD,
        result_calls,
        run_calls,
        seed,
    )
    from billing.dal import clients, stores
    from billing.dal.keys import all_shards
    from billing.dal.stores import clear
    from billing.settings import settings
    from local.moto_backend import patch_moto_transactions
    from tests.integration.conftest import TABLE, create_resources

    def forget() -> None:  # clients and stores built before moto, or with another environment
        for cached in (clients.dynamodb, clients.s3, clients.sqs, clients.events, clients.sesv2, settings):
            cached.cache_clear()
        clear()

    patch_moto_transactions()
    small_n = max(1, accounts // 4)
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {"AWS_DEFAULT_REGION": "ap-northeast-1", "TABLE_NAME": TABLE}.items():
            env.setenv(name, value)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(name, "testing")
        forget()
        create_resources(env)
        started = time.perf_counter()
        seed(range(small_n), SMALL)
        seed(range(small_n, small_n + accounts), LARGE)
        seeded_s = time.perf_counter() - started
        print(f"  seeded {small_n + accounts} accounts in {seeded_s:.0f} s")
        small = run_calls(SMALL)
        started = time.perf_counter()
        large = run_calls(LARGE)
        plan_s = time.perf_counter() - started
        print(f"  planned the run of {accounts} accounts in {plan_s:.1f} s")
        numbers = sorted(
            stores.accounts().get(f"debtor-{n:04d}").customer_number for n in range(small_n, small_n + accounts)
        )
        started = time.perf_counter()
        results = result_calls(LARGE, {number: "1" for number in numbers[::2]})
        results_s = time.perf_counter() - started
        print(f"  imported and applied its {accounts} results in {results_s:.1f} s")
        forget()
    added = accounts - small_n
    per_account = Counter({name: (large[name] - small[name]) / added for name in large})
    per_account_total = sum(large.values()) - sum(small.values())
    per_record = Counter({name: count / accounts for name, count in results.items()})
    projection = project(per_account, per_record, len(all_shards()))
    checks = {
        f"plan: {per_account_total / added:.2f} calls per added account <= {MAX_PLAN_CALLS_PER_ACCOUNT}": (
            per_account_total / added <= MAX_PLAN_CALLS_PER_ACCOUNT
        ),
        f"results: {sum(results.values()) / accounts:.2f} calls per record <= {MAX_RESULT_CALLS_PER_RECORD}": (
            sum(results.values()) / accounts <= MAX_RESULT_CALLS_PER_RECORD
        ),
    }
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": support.machine(),
        "accounts": accounts,
        "plan": {
            "calls": dict(large),
            "calls_per_added_account": {k: round(v, 3) for k, v in sorted(per_account.items()) if v},
            "calls_per_added_account_total": round(per_account_total / added, 3),
            "fixed_calls": sum(large.values()) - round(per_account_total / added * accounts),
            "wall_s_local": round(plan_s, 1),
        },
        "results": {
            "calls": dict(results),
            "calls_per_record_total": round(sum(results.values()) / accounts, 3),
            "wall_s_local": round(results_s, 1),
        },
        "projection": projection,
        "checks": checks,
    }


def project(per_account: Counter, per_record: Counter, shards: int) -> dict:
    """1,000,000 accounts: each shard's pages of 100 in turn, the 16 shards at once; results 10 at a time."""
    page = 100
    pages_per_shard = math.ceil(PROJECTED_ACCOUNTS / shards / page)
    page_ms = latency_of("dynamodb.Query") + latency_of("dynamodb.BatchGetItem")
    page_ms += page * latency_of("dynamodb.TransactWriteItems") + latency_of("sqs.SendMessageBatch")
    plan_s = pages_per_shard * page_ms / 1000
    record_ms = priced(per_record)
    concurrency = 100  # DebitResultsQueue's consumers (Lambda's default scaling would give more)
    return {
        "label": "PROJECTION (a model from measured counts and assumed latencies, not a measurement)",
        "accounts": PROJECTED_ACCOUNTS,
        "assumptions": {
            "aws_latency_ms": AWS_LATENCY_MS,
            "other_call_ms": AWS_LATENCY_DEFAULT_MS,
            "plan": f"{shards} shards in parallel, pages of {page}, one transaction after another in a page",
            "results": f"{concurrency} consumers, each record's calls one after another",
        },
        "requests_at_1m": {
            "plan": {name: round(n * PROJECTED_ACCOUNTS) for name, n in sorted(per_account.items()) if n},
            "results": {name: round(n * PROJECTED_ACCOUNTS) for name, n in sorted(per_record.items())},
        },
        "plan_minutes": round(plan_s / 60, 1),
        "results_minutes": round(PROJECTED_ACCOUNTS * record_ms / concurrency / 1000 / 60, 1),
        "note": "a result file is taken up to 1 MB (8,738 records) per request: a run of more accounts needs its"
        " result uploaded another way (not built)",
    }


def print_result(result: dict) -> None:
    reporting.print_machine(result)
    plan, results, projection = result["plan"], result["results"], result["projection"]
    reporting.print_table(
        f"debit run of {result['accounts']} accounts (moto in-process)",
        [
            ("plan: calls per added account", plan["calls_per_added_account_total"]),
            ("plan: fixed calls (16 shards' pages, the file)", plan["fixed_calls"]),
            ("plan: wall s (local, moto included)", plan["wall_s_local"]),
            ("results: calls per record", results["calls_per_record_total"]),
            ("results: wall s (local, moto included)", results["wall_s_local"]),
            ("projection: 1,000,000 accounts planned, min", projection["plan_minutes"]),
            ("projection: 1,000,000 results applied, min", projection["results_minutes"]),
        ],
    )
    reporting.print_checks(result["checks"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.debit_run", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000, help="accounts in the measured run (default 1,000)")
    args = parser.parse_args(argv)
    return reporting.finish(NAME, run(args.accounts), print_result)


if __name__ == "__main__":
    main()
