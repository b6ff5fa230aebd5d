"""Issue: the issue function's own CPU per invoice, its AWS calls, and where the CPU goes.

Method
------
* **AWS is a moto server in another process** (``local.moto_backend.LocalMotoServer``
  on 127.0.0.1, started with ``python -c``), so this process's CPU is the
  function's alone, real HTTP included, as on Lambda; moto's CPU is not in it.
* **The function** is ``functions/issue_invoice/app.py`` loaded as the tests
  load it, with the template's environment; the table, bucket (Object Lock,
  compliance mode) and bus are made as the integration tests make them.
  Accounts (half web, half postal; half transfer, half debit) and one report
  each for the month are stored with the domain's own stores before timing.
* **Timed**: ``--invoices`` messages in SQS batches of 10 (the template's
  ``BatchSize``), each a fresh account and sequence, handed to
  ``lambda_handler`` after ``--warmup`` unmeasured ones (imports, clients,
  font and tariff caches made). ``time.process_time()`` around each batch;
  the figure is the median of the batches' CPU per invoice.
* **AWS calls per invoice**: counted with a botocore ``before-call`` hook on
  every client of this process, by service and operation.
* **Profile**: a second, separate set of batches under ``cProfile`` (the
  profiler inflates the time, so it gives only the shares). Each function's
  own time goes to the area of the file it is in: ``render`` (``invoice_pdf``,
  reportlab, fontTools, the e-invoice XML), ``botocore`` (boto3, botocore,
  urllib3, http/ssl/socket), ``pydantic``, ``powertools``, ``domain``
  (``billing`` and the function); standard-library time goes to the areas of
  its callers, in proportion.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import subprocess
import sys
import sysconfig
import time
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks import _reporting as reporting
from benchmarks import _support as support

NAME = "issue_invoice"
TARGET_CPU_MS = 25.0
BUCKET = "invoices-bench"
BUS = "invoicing-bench"
MONTH = "2026-09"
BATCH = 10
AREAS = ("render", "botocore", "pydantic", "powertools", "domain", "other")
STDLIB = sysconfig.get_paths()["stdlib"]

SERVER = """
import logging, sys
from local.moto_backend import LocalMotoServer
logging.getLogger("werkzeug").setLevel(logging.WARNING)
server = LocalMotoServer()
server.start()
print(server.url, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
server.stop()
"""


def area_of(filename: str) -> str | None:
    """The area a file's own time counts for; None for the standard library (its callers' areas)."""
    path = filename.replace("\\", "/")
    if any(part in path for part in ("/invoice_pdf/", "/reportlab/", "/fontTools/", "/einvoice/", "/PIL/")):
        return "render"
    if any(part in path for part in ("/botocore/", "/boto3/", "/urllib3/", "/s3transfer/", "/jmespath/")):
        return "botocore"
    if "/pydantic" in path:
        return "pydantic"
    if "/aws_lambda_powertools/" in path or "/aws_xray_sdk/" in path:
        return "powertools"
    if "/layers/domain/" in path or "/functions/" in path:
        return "domain"
    if path.startswith(STDLIB) or path.startswith("~") or path.startswith("<"):
        return None
    return "other"


def areas(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per area; the standard library's shared out to its callers' areas."""
    table = stats.stats  # func -> (cc, nc, tt, ct, callers{func: (cc, nc, tt, ct)})
    memo: dict[tuple, dict[str, float]] = {}

    def shares(func: tuple, depth: int = 0) -> dict[str, float]:
        if func in memo:
            return memo[func]
        own = area_of(func[0])
        if own is not None:
            return {own: 1.0}
        callers = table.get(func, (0, 0, 0, 0, {}))[4]
        total = sum(edge[3] for edge in callers.values())
        if depth > 30 or not callers or total <= 0:
            return {"other": 1.0}
        memo[func] = {"other": 1.0}  # a cycle counts as other
        mixed: dict[str, float] = defaultdict(float)
        for caller, edge in callers.items():
            for area, share in shares(caller, depth + 1).items():
                mixed[area] += share * edge[3] / total
        memo[func] = dict(mixed)
        return memo[func]

    seconds: dict[str, float] = defaultdict(float)
    for func, (_, _, own_time, _, _) in table.items():
        for area, share in shares(func).items():
            seconds[area] += own_time * share
    return {area: seconds.get(area, 0.0) for area in AREAS}


def top_functions(stats: pstats.Stats, n: int = 12) -> list[dict]:
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)
    found = []
    for (filename, line, name), (_, calls, own, cumulative, _) in rows:
        if name in ("<module>", "lambda_handler") or "benchmarks" in filename:
            continue
        found.append(
            {
                "function": f"{Path(filename).name}:{line}({name})",
                "area": area_of(filename) or "stdlib",
                "calls": calls,
                "own_s": round(own, 4),
                "cumulative_s": round(cumulative, 4),
            }
        )
        if len(found) == n:
            break
    return found


@contextlib.contextmanager
def moto_server():
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["PYTHONPATH"] = str(support.ROOT)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=support.ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        url = process.stdout.readline().decode().strip()
        if not url.startswith("http://127.0.0.1"):
            raise RuntimeError(f"the moto server gave no URL: {url!r}")
        yield url
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)


class CallCounter:
    """Counts every AWS call this process makes, by ``service.Operation``."""

    def __init__(self):
        self.calls: Counter[str] = Counter()

    def install(self, client) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: self.calls.update([f"{service}.{model.name}"])
        )


def create_resources(url: str) -> None:
    import boto3

    support.create_tables(boto3.client("dynamodb"))
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    boto3.client("events").create_event_bus(Name=BUS)


def seed(n: int) -> list[str]:
    """``n`` accounts with one report each in MONTH, stored with the domain's stores (not timed)."""
    from datetime import datetime, timedelta

    from billing.dal.accounts import AccountStore
    from billing.dal.usage import UsageStore
    from billing.usage.counts import CountReport
    from tests.factories import account_profile

    accounts, usage = AccountStore(support.TABLE), UsageStore(support.TABLE)
    start = datetime.fromisoformat(f"{MONTH}-01T00:00:00+09:00")
    ids = []
    for i in range(n):
        account_id = f"issue-{i:06d}"
        payment, delivery = ("bank_transfer", "direct_debit")[i % 2], ("web", "postal")[(i // 2) % 2]
        accounts.create(account_profile(payment, delivery, account_id=account_id))
        observed = start + timedelta(days=i % 28, hours=i % 24)
        usage.record(CountReport.received(account_id, 1_000 + 37 * i, observed, now=observed + timedelta(minutes=1)))
        ids.append(account_id)
    return ids


def sqs_event(messages: list[dict]) -> dict:
    event = support.load_event("issue_invoice.json")
    template = event["Records"][0]
    event["Records"] = [{**template, "messageId": f"m-{m['account_id']}", "body": json.dumps(m)} for m in messages]
    return event


def run(invoices: int = 200, warmup: int = 20, profiled: int = 100) -> dict:
    support.use_project_paths()
    if str(support.ROOT / "layers" / "pdf") not in sys.path:  # the function's second layer
        sys.path.insert(0, str(support.ROOT / "layers" / "pdf"))
    machine = support.machine()
    with moto_server() as url:
        env = support.function_env("IssueInvoiceFunction")
        env.update(
            {
                "AWS_ENDPOINT_URL": url,
                "AWS_DEFAULT_REGION": "ap-northeast-1",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "TABLE_NAME": support.TABLE,
                "INVOICE_BUCKET": BUCKET,
                "EVENT_BUS_NAME": BUS,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
                "POWERTOOLS_SERVICE_NAME": "invoicing",
            }
        )
        old = support.set_env(env)
        try:
            return _run(url, machine, invoices, warmup, profiled)
        finally:
            support.restore_env(old)


def _run(url: str, machine: dict, n: int, warmup: int, profiled: int) -> dict:

    from billing.dal import clients

    create_resources(url)
    ids = seed(warmup + n + profiled)
    module = support.load_function("issue_invoice")
    messages = [{"month": MONTH, "account_id": a, "sequence": i + 1} for i, a in enumerate(ids)]

    def handle(batch: list[dict]) -> None:
        with contextlib.redirect_stdout(open(os.devnull, "w")):  # the metrics' EMF lines
            answer = module.lambda_handler(sqs_event(batch), support.LambdaContext())
        if answer["batchItemFailures"]:
            raise RuntimeError(f"the issue failed: {answer}")

    for start in range(0, warmup, BATCH):
        handle(messages[start : min(start + BATCH, warmup)])
    counter = CallCounter()
    for make in (clients.dynamodb, clients.s3, clients.events):
        counter.install(make())

    per_invoice_ms = []
    timed = messages[warmup : warmup + n]
    for start in range(0, len(timed), BATCH):
        batch = timed[start : start + BATCH]
        before = time.process_time()
        handle(batch)
        per_invoice_ms.append((time.process_time() - before) * 1000 / len(batch))
    calls = {name: round(count / len(timed), 3) for name, count in sorted(counter.calls.items())}

    profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for moto
    rest = messages[warmup + n :]
    for start in range(0, len(rest), BATCH):
        profiler.enable()
        handle(rest[start : start + BATCH])
        profiler.disable()
    stats = pstats.Stats(profiler)
    seconds = areas(stats)
    total = sum(seconds.values()) or 1.0
    cpu_ms = support.median(per_invoice_ms)
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": machine,
        "invoices": len(timed),
        "batch_size": BATCH,
        "cpu_ms_per_invoice": {
            "median": round(cpu_ms, 2),
            "min": round(min(per_invoice_ms), 2),
            "max": round(max(per_invoice_ms), 2),
            "batches": len(per_invoice_ms),
        },
        "aws_calls_per_invoice": calls,
        "aws_calls_per_invoice_total": round(sum(calls.values()), 3),
        "profile": {
            "invoices": len(rest),
            "share_by_area": {area: round(s / total, 3) for area, s in seconds.items()},
            "ms_per_invoice_by_area_at_the_median": {area: round(cpu_ms * s / total, 2) for area, s in seconds.items()},
            "top_cumulative": top_functions(stats),
        },
        "checks": {f"issuer CPU per invoice <= {TARGET_CPU_MS:.0f} ms (median of batches)": cpu_ms <= TARGET_CPU_MS},
    }


def summary(result: dict) -> list[str]:
    cpu = result["cpu_ms_per_invoice"]["median"]
    shares = ", ".join(f"{a} {v:.0%}" for a, v in result["profile"]["share_by_area"].items() if v >= 0.005)
    return [
        f"issuer CPU {cpu:.1f} ms per invoice (target <= {TARGET_CPU_MS:.0f}: {cpu / TARGET_CPU_MS:.2f}x the target)"
        f"; {result['aws_calls_per_invoice_total']} AWS calls per invoice",
        f"where it goes: {shares}",
    ]


def print_result(result: dict) -> None:
    reporting.print_machine(result)
    cpu = result["cpu_ms_per_invoice"]
    reporting.print_table(
        "issue function, CPU per invoice (this process; moto in another)",
        [
            ("invoices timed", result["invoices"]),
            ("median of batches (ms)", cpu["median"]),
            ("min / max (ms)", f"{cpu['min']} / {cpu['max']}"),
            ("AWS calls per invoice", result["aws_calls_per_invoice_total"]),
            *((f"  {name}", value) for name, value in result["aws_calls_per_invoice"].items()),
        ],
    )
    profile = result["profile"]
    reporting.print_table(
        f"where it goes (cProfile over {profile['invoices']} other invoices, own time by area)",
        [
            (area, f"{share:.1%}  ~{profile['ms_per_invoice_by_area_at_the_median'][area]:.1f} ms")
            for area, share in profile["share_by_area"].items()
        ],
    )
    reporting.print_table(
        "top functions by cumulative time (profiled)",
        [
            (row["function"], f"{row['area']}  {row['cumulative_s']:.3f} s  ({row['calls']} calls)")
            for row in profile["top_cumulative"]
        ],
    )
    reporting.print_checks(result["checks"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.issue_invoice", description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=200, help="invoices timed (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured invoices first (default 20)")
    parser.add_argument("--profiled", type=int, default=100, help="invoices issued under cProfile (default 100)")
    args = parser.parse_args(argv)
    result = run(args.invoices, args.warmup, args.profiled)
    return reporting.finish(NAME, result, print_result)


if __name__ == "__main__":
    raise SystemExit(0 if all(main()["checks"].values()) else 1)
