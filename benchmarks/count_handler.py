"""Warm, in-process cost of a record-count report: CPU time and AWS calls per report.

Method
------
* The record_counts and accounts handlers are loaded as Lambda would load them
  (``functions/<name>/app.py``) and run in this process under moto's
  ``mock_aws``, with the BillingTable built from template.yaml's own key
  schema. Environment variables are the ones template.yaml sets (tracing off,
  log level WARNING, metrics on: their EMF output goes to /dev/null but is
  still produced, as in Lambda).
* Accounts are created through the accounts handler (PUT /v1/accounts/<id>).
* Single reports: after a warm-up on another account, N invocations of
  POST /v1/accounts/<id>/record-counts for one account, observed during the
  previous month (always in the past): mostly in time order with a climbing,
  noisy count, and about 1 in 10 a re-sent earlier report (as a retrying
  platform would), so both outcomes of each conditional write are exercised.
  Events are built before timing. CPU time is ``time.process_time()`` around
  the loop, divided by N.
* Batch: POST /v1/record-counts with batches of 100 reports over 10 fresh
  accounts; CPU time per report is the loop's CPU time over the reports sent.
* AWS calls are counted with botocore hooks on the handler's own client
  (``usage_store().client``): ``before-call.dynamodb`` counts API calls per
  operation (writes: PutItem/UpdateItem/DeleteItem/BatchWriteItem/
  TransactWriteItems; reads: GetItem/Query/Scan/BatchGetItem/
  TransactGetItems), ``after-call.dynamodb`` counts refused conditions.
  Single reports are checked one by one (max per invocation); batches per
  batch.
* Moto's share is measured two ways:
  1. *Timed directly*: moto answers botocore in-process from
     ``BotocoreStubber.process_request``; it is wrapped with a
     ``process_time()`` timer for the run, so "moto" is the CPU time moto
     itself spends emulating DynamoDB.
  2. *Replay and subtract*: the exact UpdateItem parameters the handler sent
     (captured on ``before-parameter-build``) are replayed in the same order
     with the same client against a fresh table holding the same profile, so
     every condition has the same outcome. That costs botocore + moto only.
     Our code and Powertools (routing, parsing, validation, metrics,
     logging) without the AWS calls = (handler CPU - its moto time) -
     (replay CPU - its moto time): both sides without moto, whose run-to-run
     noise would otherwise swamp the difference.
  So: total = moto + botocore client work + our handler. In Lambda, moto's
  part is replaced by waiting on DynamoDB over the network (not CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import time
import warnings
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from benchmarks import _reporting as reporting
from benchmarks import _support as support
from tests.factories import profile_body

NAME = "count_handler"
TOKYO = ZoneInfo("Asia/Tokyo")


class CallRecorder:
    """Counts a botocore client's DynamoDB calls, and can capture what was sent."""

    def __init__(self, client):
        self.operations: list[str] = []
        self.refused = 0
        self.captured: list[tuple[str, dict]] | None = None
        events = client.meta.events
        events.register("before-call.dynamodb", self._before_call)
        events.register("after-call.dynamodb", self._after_call)
        events.register("before-parameter-build.dynamodb", self._before_build)

    def _before_call(self, model, **_):
        self.operations.append(model.name)

    def _after_call(self, parsed, **_):
        if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            self.refused += 1

    def _before_build(self, params, model, **_):
        if self.captured is not None:
            self.captured.append((model.name, copy.deepcopy(params)))

    def reset(self) -> None:
        self.operations.clear()
        self.refused = 0


def writes_reads(operations: list[str]) -> tuple[int, int]:
    return (
        sum(op in support.WRITE_OPERATIONS for op in operations),
        sum(op in support.READ_OPERATIONS for op in operations),
    )


def per_report(reports: int, cpu: float, wall: float, moto_s: float, operations: list[str]) -> dict:
    """Per report: CPU (with and without moto's), wall time, and DynamoDB operations, writes and reads."""
    writes, reads = writes_reads(operations)
    return {
        "cpu_us_per_report": cpu / reports * 1e6,
        "wall_us_per_report": wall / reports * 1e6,
        "moto_cpu_us_per_report": moto_s / reports * 1e6,
        "moto_share": moto_s / cpu,
        "cpu_without_moto_us_per_report": (cpu - moto_s) / reports * 1e6,
        "operations": dict(Counter(operations)),
        "writes_per_report": writes / reports,
        "reads_per_report": reads / reports,
    }


def report_stream(count: int, seed: int = 42) -> list[dict]:
    """Reports through last month: mostly in order, climbing with noise, ~1 in 10 a re-sent earlier one."""
    rng = random.Random(seed)
    year, month = support.previous_month()
    start = datetime(year, month, 1, tzinfo=TOKYO)
    span = (datetime(year + month // 12, month % 12 + 1, 1, tzinfo=TOKYO) - start).total_seconds() - 60
    reports: list[dict] = []
    level = 10_000
    for i in range(count):
        if reports and rng.random() < 0.1:
            reports.append(dict(rng.choice(reports)))
            continue
        level = max(0, level + rng.randint(-40, 60))
        at = start + timedelta(seconds=span * i / count + rng.uniform(0, span / count))
        reports.append({"count": level + rng.randint(0, 25), "observed_at": at.isoformat(timespec="seconds")})
    return reports


def _invoke(module, event: dict) -> dict:
    response = module.lambda_handler(event, support.LambdaContext())
    return {"status": response["statusCode"], "body": json.loads(response["body"])}


def _create_accounts(accounts_module, ids: list[str]) -> None:
    template = support.load_event("put_account.json")
    body = profile_body()
    for account_id in ids:
        event = support.api_event(template, f"/v1/accounts/{account_id}", body, {"account_id": account_id})
        result = _invoke(accounts_module, event)
        if result["status"] not in (200, 201):
            raise RuntimeError(f"PUT account {account_id} failed: {result}")


def run(reports: int = 2000, batches: int = 20, batch_size: int = 100, warmup: int = 50) -> dict:
    support.use_project_paths()
    old_env = support.set_env(support.HANDLER_ENV)
    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with warnings.catch_warnings():
            # Powertools flushes a metric at 100 values, so a batch of 100 ends with nothing left to flush.
            warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
            return _run(reports, batches, batch_size, warmup)
    finally:
        support.restore_env(old_env)
        if endpoint is not None:
            os.environ["AWS_ENDPOINT_URL"] = endpoint


def _run(n_reports: int, n_batches: int, batch_size: int, warmup: int) -> dict:
    machine = support.machine()
    import boto3
    from moto import mock_aws

    from billing.dal import clients
    from billing.settings import settings

    with mock_aws(), open(os.devnull, "w") as devnull:
        clients.dynamodb.cache_clear()
        settings.cache_clear()
        raw = boto3.client("dynamodb", region_name=support.REGION)
        support.create_tables(raw)

        accounts_module = support.load_function("accounts")
        counts_module = support.load_function("record_counts")
        client = counts_module.usage_store().client
        recorder = CallRecorder(client)

        single_account, warm_account = "bench-single", "bench-warm"
        batch_accounts = [f"bench-batch-{i:03d}" for i in range(10)]
        with contextlib.redirect_stdout(devnull):
            _create_accounts(accounts_module, [single_account, warm_account, *batch_accounts])
        profile_key = {"pk": {"S": f"ACCOUNT#{single_account}"}, "sk": {"S": "PROFILE"}}
        profile_item = raw.get_item(TableName=support.TABLE, Key=profile_key, ConsistentRead=True)["Item"]

        single_template = support.load_event("record_count.json")

        def single_event(account_id: str, body: dict) -> dict:
            path = f"/v1/accounts/{account_id}/record-counts"
            return support.api_event(single_template, path, body, {"account_id": account_id})

        # ---- warm-up (not measured): every code path imported and cached
        warm_events = [single_event(warm_account, body) for body in report_stream(warmup, seed=7)]
        with contextlib.redirect_stdout(devnull):
            warm_failures = [r for r in (_invoke(counts_module, e) for e in warm_events) if r["status"] != 200]
        if warm_failures:
            raise RuntimeError(f"{len(warm_failures)} warm-up reports failed, e.g. {warm_failures[0]}")

        def timed(events: list[dict]) -> tuple[list[dict], list[tuple[int, int]], float, float, float]:
            """The handler on each event: its responses, (writes, reads) of each, CPU, wall and moto's CPU seconds."""
            responses, per_invocation = [], []
            with contextlib.redirect_stdout(devnull), support.MotoTimer() as moto:
                wall, cpu = time.perf_counter(), time.process_time()
                for event in events:
                    mark = len(recorder.operations)
                    responses.append(counts_module.lambda_handler(event, support.LambdaContext()))
                    per_invocation.append(writes_reads(recorder.operations[mark:]))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            return responses, per_invocation, cpu, wall, moto.seconds

        # ---- single reports
        events = [single_event(single_account, body) for body in report_stream(n_reports)]
        recorder.reset()
        recorder.captured = []
        results, per_invocation, cpu, wall, moto_s = timed(events)
        bad = [r for r in results if r["statusCode"] != 200]
        if bad:
            raise RuntimeError(f"{len(bad)} single reports failed, e.g. {bad[0]}")
        captured, recorder.captured = recorder.captured, None
        single_refused = recorder.refused
        raised = sum(json.loads(r["body"]).get("raised", False) for r in results)
        single = {
            "reports": n_reports,
            "cpu_s": cpu,
            "wall_s": wall,
            **per_report(n_reports, cpu, wall, moto_s, recorder.operations),
            "max_writes_in_one_report": max(w for w, _ in per_invocation),
            "max_reads_in_one_report": max(r for _, r in per_invocation),
            "conditional_refusals": single_refused,
            "reports_raising_peak": raised,
        }

        # ---- replay the handler's exact UpdateItems (botocore + moto only)
        replay_table = f"{support.TABLE}-replay"
        support.create_tables(raw, replay_table)
        raw.put_item(TableName=replay_table, Item=profile_item)
        from botocore.exceptions import ClientError

        calls = [(op, {**params, "TableName": replay_table}) for op, params in captured]
        recorder.reset()
        with support.MotoTimer() as replay_moto:
            replay_cpu = time.process_time()
            for op, params in calls:
                try:
                    getattr(client, _snake(op))(**params)
                except ClientError as error:
                    if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
            replay_cpu = time.process_time() - replay_cpu
        if recorder.refused != single_refused:
            raise RuntimeError(f"replay refused {recorder.refused} conditions, the handler run {single_refused}")
        replay = {
            "calls": len(calls),
            "cpu_us_per_report": replay_cpu / n_reports * 1e6,
            "moto_cpu_us_per_report": replay_moto.seconds / n_reports * 1e6,
            "botocore_cpu_us_per_report": (replay_cpu - replay_moto.seconds) / n_reports * 1e6,
        }
        single["handler_only_cpu_us_per_report"] = (
            single["cpu_without_moto_us_per_report"] - replay["botocore_cpu_us_per_report"]
        )

        # ---- batches of batch_size over several accounts
        batch_template = support.load_event("record_counts_batch.json")
        stream = report_stream(n_batches * batch_size, seed=99)
        batch_events = []
        for b in range(n_batches):
            chunk = stream[b * batch_size : (b + 1) * batch_size]
            body = {
                "reports": [
                    {"account_id": batch_accounts[(b * batch_size + i) % len(batch_accounts)], **report}
                    for i, report in enumerate(chunk)
                ]
            }
            batch_events.append(support.api_event(batch_template, "/v1/record-counts", body))
        recorder.reset()
        batch_results, per_batch, cpu, wall, batch_moto_s = timed(batch_events)
        sent = n_batches * batch_size
        failed_items = [
            item
            for r in batch_results
            for item in (json.loads(r["body"]).get("results", []) if r["statusCode"] == 200 else [r])
            if item.get("status") != 200
        ]
        if failed_items:
            raise RuntimeError(f"{len(failed_items)} batch reports failed, e.g. {failed_items[0]}")
        batch = {
            "batches": n_batches,
            "batch_size": batch_size,
            "reports": sent,
            **per_report(sent, cpu, wall, batch_moto_s, recorder.operations),
            "max_writes_per_report_in_one_batch": max(w for w, _ in per_batch) / batch_size,
            "max_reads_in_one_batch": max(r for _, r in per_batch),
            "conditional_refusals": recorder.refused,
        }

    checks = {
        "single: writes per report <= 2 (every report)": single["max_writes_in_one_report"] <= 2,
        "single: reads per report == 0 (every report)": single["max_reads_in_one_report"] == 0,
        "batch: writes per report <= 2 (every batch)": batch["max_writes_per_report_in_one_batch"] <= 2,
        "batch: reads == 0 (every batch)": batch["max_reads_in_one_batch"] == 0,
    }
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": machine,
        "single": single,
        "replay": replay,
        "batch": batch,
        "checks": checks,
        "ok": all(checks.values()),
    }


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def summary(result: dict) -> list[str]:
    single, batch = result["single"], result["batch"]
    return [
        f"single report: {single['cpu_us_per_report']:.0f} µs CPU under moto, of which moto"
        f" {single['moto_share']:.0%}; {single['cpu_without_moto_us_per_report']:.0f} µs without moto"
        f" ({single['handler_only_cpu_us_per_report']:.0f} µs handler + Powertools);"
        f" {single['writes_per_report']:.2f} writes, {single['reads_per_report']:.0f} reads",
        f"batch of {batch['batch_size']}: {batch['cpu_us_per_report']:.0f} µs CPU per report under moto,"
        f" {batch['cpu_without_moto_us_per_report']:.0f} µs without moto;"
        f" {batch['writes_per_report']:.2f} writes, {batch['reads_per_report']:.0f} reads per report",
    ]


def print_result(result: dict) -> None:
    single, replay, batch = result["single"], result["replay"], result["batch"]
    us = "{:.0f}".format
    reporting.print_table(
        f"Count handler, warm, in-process under moto ({single['reports']} single reports,"
        f" {batch['batches']} batches of {batch['batch_size']})",
        [
            ["per report", "single", "batch"],
            ["CPU time, whole invocation (µs)", us(single["cpu_us_per_report"]), us(batch["cpu_us_per_report"])],
            [
                "  of which moto's emulation (µs, timed)",
                us(single["moto_cpu_us_per_report"]),
                us(batch["moto_cpu_us_per_report"]),
            ],
            ["  moto's share", f"{single['moto_share']:.0%}", f"{batch['moto_share']:.0%}"],
            [
                "  CPU without moto (µs)",
                us(single["cpu_without_moto_us_per_report"]),
                us(batch["cpu_without_moto_us_per_report"]),
            ],
            ["raw UpdateItem replay, botocore + moto (µs)", us(replay["cpu_us_per_report"]), "-"],
            ["  of which botocore client (µs)", us(replay["botocore_cpu_us_per_report"]), "-"],
            ["handler + Powertools, no AWS calls (µs)", us(single["handler_only_cpu_us_per_report"]), "-"],
            ["wall time (µs)", us(single["wall_us_per_report"]), us(batch["wall_us_per_report"])],
            ["writes per report (mean)", f"{single['writes_per_report']:.2f}", f"{batch['writes_per_report']:.2f}"],
            [
                "writes per report (max)",
                single["max_writes_in_one_report"],
                f"{batch['max_writes_per_report_in_one_batch']:.2f}",
            ],
            ["reads per report", f"{single['reads_per_report']:.2f}", f"{batch['reads_per_report']:.2f}"],
            ["conditional writes refused (total)", single["conditional_refusals"], batch["conditional_refusals"]],
        ],
    )
    reporting.print_machine(result)
    print(f"  operations (single): {single['operations']}; (batch): {batch['operations']}")
    reporting.print_checks(result["checks"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.count_handler", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2000, help="single-report invocations (default 2000)")
    parser.add_argument("--batches", type=int, default=20, help="batch invocations (default 20)")
    parser.add_argument("--batch-size", type=int, default=100, help="reports per batch (default 100)")
    args = parser.parse_args(argv)
    result = run(args.reports, args.batches, args.batch_size)
    return reporting.finish(NAME, result, print_result)


if __name__ == "__main__":
    raise SystemExit(0 if main()["ok"] else 1)
