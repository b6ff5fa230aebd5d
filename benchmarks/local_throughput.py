"""Local throughput of the batch endpoint (reports/s), beside moto's own ceiling measured in the same run.

Method
------
* Starts the local stack, ``python -m local up --port 0`` (moto server, the
  HTTP API gateway with SigV4 checks, warm function containers), with its
  state file in a temporary directory. Its first stdout line gives the API
  URL, the moto endpoint, the region and the local key pair. At the end it
  is stopped with SIGTERM, by its PID only.
* Requests are signed with botocore's ``SigV4Auth`` (service
  ``execute-api``) through ``local.client.SignedSession``, one session per
  thread.
* Setup: ``--accounts`` accounts created with PUT /v1/accounts/<id>, then one
  small batch per thread so every container the pool starts is warm.
* **Our endpoint**: ``--threads`` threads each POST /v1/record-counts with
  batches of ``--batch-size`` reports (random accounts, last month, time
  running forward with a noisy climbing count) until ``--seconds`` have
  passed; reports/s = reports answered 200 / time until the last batch came
  back. Every report in every answer must have status 200.
* **Moto's ceiling**: the same number of threads, each with its own boto3
  client (``endpoint_url`` = the same moto server, the same retry config as
  the functions), fold reports with the domain layer's own ``UsageStore``
  into a separate table built from template.yaml's key schema: exactly the
  two conditional UpdateItem requests a report costs, with nothing else in
  between (no gateway, no SigV4 check, no Lambda container, no handler).
  UpdateItem/s is counted with a botocore ``before-call`` hook. It is run
  before and after our endpoint, and the mean is used.
* Ratio = our reports/s ÷ (moto's UpdateItem/s ÷ 2): the share of moto's
  ceiling that the whole path (gateway, container hop, handler, Powertools,
  botocore) leaves. The load generator, the gateway, moto and the containers
  share this machine's CPUs, so the figures are a local ceiling, not a
  prediction for AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks import _reporting as reporting
from benchmarks import _support as support
from tests.factories import profile_body

NAME = "local_throughput"
TOKYO = ZoneInfo("Asia/Tokyo")
START_TIMEOUT_S = 180


# ---------------------------------------------------------------- the stack
class LocalStackProcess:
    """``python -m local up --port 0`` as a child process, stopped by PID with SIGTERM."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.config: dict = {}
        self.stderr_path = workdir / "local-up.log"
        self.state = workdir / "stack.json"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "local", "up", "--port", "0", "--state", str(self.state)]

    def environment(self) -> dict[str, str]:
        """This process's environment without its ``AWS_`` variables: the stack chooses its own."""
        return {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}

    def __enter__(self) -> LocalStackProcess:
        from local.processes import first_line

        with open(self.stderr_path, "w") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=support.ROOT, env=self.environment(), stdout=subprocess.PIPE, stderr=log
            )
        line = first_line(self.process, START_TIMEOUT_S)
        if line is None:
            self.__exit__()
            raise RuntimeError(f"`python -m local up` gave no config line:\n{self.log_tail()}")
        self.config = json.loads(line)
        for key in ("url", "endpoint", "region", "aws_access_key_id", "aws_secret_access_key"):
            if not self.config.get(key):
                self.__exit__()
                raise RuntimeError(f"the config line has no {key}: {self.config}")
        if not self.config["url"].startswith("http://127.0.0.1") or not self.config["endpoint"].startswith(
            "http://127.0.0.1"
        ):
            self.__exit__()
            raise RuntimeError(f"the stack does not listen on 127.0.0.1: {self.config}")
        return self

    def children(self) -> list[int]:
        """PIDs of the stack's direct children (its function containers)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if self.process and int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def __exit__(self, *_) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        containers = self.children()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        left = [pid for pid in containers if Path(f"/proc/{pid}").exists()]
        if left:
            print(f"  warning: containers {left} of the local stack outlived it")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# ---------------------------------------------------------------- load
class ReportSource:
    """Reports of last month for one thread: time running forward, counts climbing with noise."""

    def __init__(self, accounts: list[str], seed: int, per_thread_reports: int = 20_000):
        self.rng = random.Random(seed)
        self.accounts = accounts
        year, month = support.previous_month()
        self.start = datetime(year, month, 1, tzinfo=TOKYO)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=TOKYO)
        self.step = (end - self.start - timedelta(minutes=1)) / per_thread_reports
        self.per_thread_reports = per_thread_reports
        self.index = 0
        self.level = {account: 10_000 for account in accounts}

    def next(self) -> dict:
        account = self.rng.choice(self.accounts)
        self.level[account] = max(0, self.level[account] + self.rng.randint(-40, 60))
        at = self.start + self.step * (self.index % self.per_thread_reports)  # always within last month
        self.index += 1
        return {"account_id": account, "count": self.level[account], "observed_at": at.isoformat()}


def run_threads(threads: int, seconds: float, work) -> tuple[float, list[dict]]:
    """``work(i, deadline)`` on ``threads`` threads; (seconds until the last returned, their results)."""
    results: list[dict] = [{} for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    deadline_box: list[float] = []

    def target(i: int) -> None:
        barrier.wait()
        results[i] = work(i, deadline_box[0])

    workers = [threading.Thread(target=target, args=(i,), name=f"bench-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    start = time.perf_counter()
    deadline_box.append(start + seconds)
    barrier.wait()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start, results


def endpoint_phase(
    config: dict, accounts: list[str], threads: int, seconds: float, batch_size: int, seed: int, at_least: int = 0
) -> dict:
    from local.client import SignedSession

    def work(i: int, deadline: float) -> dict:
        api = SignedSession.from_config(config)
        source = ReportSource(accounts, seed + i)
        reports = failed = batches = 0
        latencies, errors = [], []
        while batches < at_least or time.perf_counter() < deadline:
            body = {"reports": [source.next() for _ in range(batch_size)]}
            start = time.perf_counter()
            response = api.post("/v1/record-counts", json=body)
            latencies.append(time.perf_counter() - start)
            batches += 1
            if response.status_code != 200:
                failed += batch_size
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
                continue
            for item in response.json()["results"]:
                if item.get("status") == 200:
                    reports += 1
                else:
                    failed += 1
                    errors.append(json.dumps(item)[:200])
        return {"reports": reports, "failed": failed, "batches": batches, "latencies": latencies, "errors": errors}

    elapsed, results = run_threads(threads, seconds, work)
    latencies = sorted(latency for result in results for latency in result["latencies"])
    reports = sum(result["reports"] for result in results)
    return {
        "threads": threads,
        "batch_size": batch_size,
        "seconds": elapsed,
        "batches": sum(result["batches"] for result in results),
        "reports": reports,
        "failed_reports": sum(result["failed"] for result in results),
        "errors": [error for result in results for error in result["errors"]][:5],
        "reports_per_s": reports / elapsed,
        "batch_latency_median_ms": statistics.median(latencies) * 1000 if latencies else None,
        "batch_latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else None,
    }


def moto_client(config: dict):
    import boto3

    from billing.dal.clients import _CONFIG  # the functions' own retry and timeout settings
    from local.runtime import AwsSettings

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=AwsSettings.from_config(config).endpoint_for("dynamodb"),
        region_name=config["region"],
        aws_access_key_id=config["aws_access_key_id"],
        aws_secret_access_key=config["aws_secret_access_key"],
        config=_CONFIG,
    )


def ceiling_table(config: dict, accounts: list[str]) -> str:
    table = f"bench-ceiling-{os.getpid()}"
    client = moto_client(config)
    support.create_tables(client, table)
    # Each profile with what the count path reads of it: the gate refuses a report before the contract's start.
    contract_start = profile_body()["contract_start"]
    for account in accounts:
        profile = {"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}, "contract_start": {"S": contract_start}}
        client.put_item(TableName=table, Item=profile)
    return table


def ceiling_phase(config: dict, table: str, accounts: list[str], threads: int, seconds: float, seed: int) -> dict:
    from billing.dal.usage import UsageStore
    from billing.schema.platform import BatchReportIn
    from billing.usage.counts import CountReport

    def work(i: int, deadline: float) -> dict:
        client = moto_client(config)
        calls = {"UpdateItem": 0, "other": 0}

        def count(model, **_):
            calls["UpdateItem" if model.name == "UpdateItem" else "other"] += 1

        client.meta.events.register("before-call.dynamodb", count)
        store = UsageStore(table, client)
        source = ReportSource(accounts, seed + i)
        reports = 0
        while time.perf_counter() < deadline:
            report = BatchReportIn.model_validate(source.next())
            store.record(CountReport.received(report.account_id, report.count, report.observed_at))
            reports += 1
        return {"reports": reports, **calls}

    elapsed, results = run_threads(threads, seconds, work)
    updates = sum(result["UpdateItem"] for result in results)
    reports = sum(result["reports"] for result in results)
    return {
        "threads": threads,
        "seconds": elapsed,
        "reports": reports,
        "update_items": updates,
        "other_calls": sum(result["other"] for result in results),
        "update_items_per_s": updates / elapsed,
        "update_items_per_report": updates / reports if reports else None,
    }


def run(threads: int = 4, seconds: float = 30.0, accounts: int = 50, batch_size: int = 100) -> dict:
    machine = support.machine()
    support.use_project_paths()
    account_ids = [f"bench-{i:03d}" for i in range(accounts)]
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp, LocalStackProcess(Path(tmp)) as stack:
        from local.client import SignedSession

        config = stack.config
        api = SignedSession.from_config(config)
        body = profile_body()
        for account in account_ids:
            response = api.put(f"/v1/accounts/{account}", json=body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"PUT /v1/accounts/{account}: {response.status_code} {response.text[:300]}")
        warm = endpoint_phase(config, account_ids, threads, 0.0, 5, seed=1000, at_least=1)  # starts the containers
        if warm["failed_reports"]:
            raise RuntimeError(f"warm-up failed: {warm['errors']}")
        table = ceiling_table(config, account_ids)
        before = ceiling_phase(config, table, account_ids, threads, seconds, seed=2000)
        ours = endpoint_phase(config, account_ids, threads, seconds, batch_size, seed=3000)
        after = ceiling_phase(config, table, account_ids, threads, seconds, seed=4000)
    ceiling = (before["update_items_per_s"] + after["update_items_per_s"]) / 2
    ratio = ours["reports_per_s"] / (ceiling / 2)
    checks = {
        "every report answered 200": ours["failed_reports"] == 0,
        "ceiling used 2 UpdateItems per report and nothing else": all(
            phase["update_items_per_report"] == 2 and phase["other_calls"] == 0 for phase in (before, after)
        ),
    }
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": machine,
        "accounts": accounts,
        "endpoint": ours,
        "moto_ceiling_before": before,
        "moto_ceiling_after": after,
        "moto_update_items_per_s": ceiling,
        "moto_reports_per_s": ceiling / 2,
        "ratio_to_moto_ceiling": ratio,
        "checks": checks,
        "ok": all(checks.values()),
    }


def summary(result: dict) -> list[str]:
    return [
        f"batch endpoint: {result['endpoint']['reports_per_s']:.0f} reports/s locally;"
        f" moto alone {result['moto_update_items_per_s']:.0f} UpdateItem/s"
        f" (= {result['moto_reports_per_s']:.0f} reports/s); ratio {result['ratio_to_moto_ceiling']:.2f}"
    ]


def print_result(result: dict) -> None:
    ours, before, after = result["endpoint"], result["moto_ceiling_before"], result["moto_ceiling_after"]
    reporting.print_table(
        f"Local throughput: POST /v1/record-counts, {ours['threads']} threads, batches of {ours['batch_size']},"
        f" {result['accounts']} accounts",
        [
            ["", "value"],
            ["our endpoint: reports/s", f"{ours['reports_per_s']:.0f}"],
            ["  reports (batches) in seconds", f"{ours['reports']} ({ours['batches']}) in {ours['seconds']:.1f} s"],
            [
                "  batch latency median / p95 (ms)",
                f"{ours['batch_latency_median_ms']:.0f} / {ours['batch_latency_p95_ms']:.0f}",
            ],
            [
                "moto alone: UpdateItem/s (before / after)",
                f"{before['update_items_per_s']:.0f} / {after['update_items_per_s']:.0f}",
            ],
            ["moto alone: reports/s at 2 UpdateItems each", f"{result['moto_reports_per_s']:.0f}"],
            ["ratio: ours / moto's ceiling", f"{result['ratio_to_moto_ceiling']:.2f}"],
        ],
    )
    reporting.print_machine(result)
    reporting.print_checks(result["checks"])
    for error in ours["errors"]:
        print(f"  error: {error}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each timed phase (default 30)")
    parser.add_argument("--accounts", type=int, default=50, help="accounts to create (default 50)")
    parser.add_argument("--batch-size", type=int, default=100, help="reports per batch (default 100)")
    args = parser.parse_args(argv)
    result = run(args.threads, args.seconds, args.accounts, args.batch_size)
    return reporting.finish(NAME, result, print_result)


if __name__ == "__main__":
    raise SystemExit(0 if main()["ok"] else 1)
