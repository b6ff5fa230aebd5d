"""Close: N accounts closed on the local stack end to end; AWS calls per invoice; a 1,000,000 projection.

Method
------
* **moto with a request counter, in two processes as ``python -m local up``
  runs it.** This process runs a moto server for every service but DynamoDB
  (``local.moto_backend.LocalMotoServer``), and starts a second process
  (``python -m benchmarks.close_month --serve-dynamodb``) that serves
  DynamoDB and its streams the same way, serially, as ``up``'s own
  ``local.moto_backend.MotoProcess`` does (``--one-moto`` serves everything
  from this process, as before 2026-12-04). Each runs on 127.0.0.1 with a WSGI
  middleware that
  classifies every request: service and operation (``X-Amz-Target``, the
  SigV4 credential scope, S3 method and path, a form ``Action``), the item
  it touches (DynamoDB ``pk``/``sk`` kinds such as ``ACCOUNT/PROFILE`` or
  ``MONTH/INVOICE_COUNTER``, the queue, the S3 key prefix), the outcome
  (``ok`` or the error code, e.g. ``TransactionCanceledException``) and
  **which process sent it**: the ``app/<id>`` of its User-Agent, the
  SDK's documented app id (``AWS_SDK_UA_APP_ID``). The local runtime sets it
  to each container's function folder (``issue_invoice``,
  ``deliver_invoice``, ``close_month``...); this benchmark starts ``local up``
  with ``local-runner`` (its queue and stream pollers), the CLI with
  ``close-month-cli`` (its drain waiter) and its own clients with
  ``benchmark``. A request without one counts as ``unknown``.
* **moto as the local stack runs it** (``--stock-moto`` turns off its one
  change that matters here): moto's TransactWriteItems deep-copies every
  table as its rollback backup, and ``patch_moto_transactions`` backs up only
  the items a transaction names (the same answers). moto's SQS calls still
  count the whole queue and its Query walks the whole table, so the time per
  invoice grows with the accounts; the local close of 10,000 accounts is no
  longer a target, and the default is 1,000.
* **The stack**: ``python -m local up --port 0 --endpoint <that moto>``
  (state file in a temporary directory), stopped with SIGTERM by its PID.
* **Seeding, all through the signed platform API** (``SignedSession``):
  ``PUT /v1/accounts/<id>`` on ``--threads`` threads (payment and delivery
  methods alternate, so half the invoices are web statements with an email
  and half postal letters), then one report per account for the month to
  close via ``POST /v1/record-counts`` in batches of 100 on 2 threads (every
  report must answer 200; a batch the gateway answers 5xx is resent, as a
  platform would, since reports are idempotent, and the resends are counted).
  A sample of accounts is read back with GET profile and usage.
* **The close**: ``python -m local close-month <month> --state ...`` (the
  scheduled CloseMonthFunction, then ``up``'s SQS pollers and EventBridge rule
  do the rest; the CLI returns once every consumed queue stayed empty for
  1.5 s). Wall time is measured around the CLI, and also from the first to
  the last AWS call a function made (the close run's first write to the last
  delivery write), which leaves out the CLI's cold container and its settle
  time.
* **Verification** (boto3 on moto after the close): a scan of the table for the
  month's invoices (exactly N, numbers 1..N with no gap or repeat, each
  issued and delivered (so announced); a letter item per postal invoice; a
  ``notified_at`` per web one), the month's counter (``seq`` = N), the close
  run record (``MONTH#<month>``/``CLOSE_RUN``: total, issued, failed...),
  the bucket (N objects under ``invoices/<month>/``, one version each, at the
  keys the invoices name) and the dead-letter queues (the CLI's report).
* **Per-invoice work** = the calls of ``issue_invoice`` and ``deliver_invoice``
  ÷ N. ``close_month`` is split into its fixed work (the start, per page:
  the page record read, the Query, the counter read and the transaction
  that records the page and reserves its numbers, the next page) and its
  per-invoice SendMessageBatch.
  The local runner's own SQS calls (ReceiveMessage, including empty long
  polls, DeleteMessageBatch, ChangeMessageVisibility) stand for Lambda's event
  source mapping and are reported apart, as are the CLI's GetQueueAttributes.
* **Per-invoice cost**: the handler's own duration (the ``REPORT ... Duration``
  lines the containers log, summed, ÷ N) and the containers' CPU time
  (``/proc/<pid>/stat``, before and after the close, ÷ N); moto's CPU (both
  processes, and each apart) and its serialised DynamoDB busy time are
  reported beside them.
* **Projection for 1,000,000 accounts on AWS** (a model, not a measurement):
  the measured IssueInvoice calls per invoice priced at the stated AWS
  latencies, plus the measured container CPU scaled to a 1,024 MB Lambda
  (1,769 MB = 1 vCPU) and the event source mapping's hand-off per batch.
  Issuers never contend (each message carries the invoice number its page
  reserved), so the issue rate is ``MaximumConcurrency`` over that time,
  capped by DynamoDB's per-partition write limit (1,000 WCU/s, 2 WCU per
  transactional write of a small item) on the only items many invoices
  write: the 16 per-shard progress items. The month's counter is written once
  per page of 500. The fan-out walks the 16 shards in parallel, one page
  after another within a shard.

Results print as tables and go to ``benchmarks/results/close_month-<N>.json``,
one per size closed. This module runs the close
and turns what it saw into figures; the counted moto is ``_moto_counter``, the
stack, seeding and verification ``_close_month_world``, the projection
``_projection`` and the tables ``_close_month_report``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks import _reporting as reporting
from benchmarks import _support as support
from benchmarks._close_month_report import print_result, summary
from benchmarks._close_month_world import (
    EndpointStack,
    default_month,
    handler_durations,
    progress,
    seed,
    verify,
    wait_for_stream_readers,
)
from benchmarks._moto_counter import Counters, calls_per_invoice, counted_moto, serve_dynamodb
from benchmarks._projection import ISSUE_BATCH, ISSUE_CONCURRENCY, ISSUE_MEMORY_MB, project_close, template_settings

__all__ = ["main", "run", "summary"]

NAME = "close_month"
MAX_CALLS_PER_INVOICE = 8  # issue 11's targets
MAX_ISSUER_CPU_MS = 25
SCALING_BASE = 1_000  # the size the default run's per-invoice cost is compared with
MAX_SCALING = 1.5


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.close_month", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000, help="accounts to seed and close (default 1,000)")
    parser.add_argument("--month", help="the month to close (default: two months back, Tokyo)")
    parser.add_argument("--threads", type=int, default=6, help="seeding threads (default 6)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the close may take (default 3600)")
    parser.add_argument("--stock-moto", action="store_true", help="run moto without its per-item transaction backup")
    parser.add_argument("--one-moto", action="store_true", help="serve DynamoDB from the same moto process")
    parser.add_argument("--serve-dynamodb", action="store_true", help=argparse.SUPPRESS)  # the second moto process
    args = parser.parse_args(argv)
    if args.serve_dynamodb:
        serve_dynamodb(patch_moto=not args.stock_moto)
        return {"ok": True}
    result = run(args.accounts, args.month, args.threads, args.timeout, args.stock_moto, args.one_moto)
    add_scaling(result)
    return reporting.finish(result_name(args.accounts), result, print_result)


def run(
    accounts: int = 1_000,
    month: str | None = None,
    threads: int = 6,
    timeout_s: float = 3600,
    stock_moto: bool = False,
    one_moto: bool = False,
) -> dict:
    month = month or default_month()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our moto server: no line per request
    machine = support.machine()
    support.use_project_paths()
    settings = template_settings()
    account_ids = [f"close-{i:06d}" for i in range(accounts)]
    with (
        counted_moto(stock_moto, one_moto) as (server, counters),
        tempfile.TemporaryDirectory(prefix="bench-close-") as tmp,
        EndpointStack(Path(tmp), server.url, counters.dynamodb_url) as stack,
    ):
        counters.set_phase("seed")
        seeded = seed(stack.config, account_ids, month, threads)
        print(
            f"  seeded {accounts} accounts ({seeded['profiles_per_s']:.0f} profiles/s) and"
            f" {seeded['reports']} reports ({seeded['reports_per_s']:.0f}/s) over HTTP"
        )
        state = json.loads(stack.state.read_text())
        waited = wait_for_stream_readers(counters)
        print(f"  the stream's readers caught up with the seeded reports in {waited:.0f} s")
        close = close_on(stack, counters, month, accounts, timeout_s)
        verification = verify(stack.config, state, month, account_ids, close["cli_report"])
        counter = counters.view()
        errors_tail = [line for line in stack.log_tail(4000).splitlines() if "ERROR" in line or "error" in line][-8:]

    rows = counter.rows("close")
    first = counter.first.get(("close", "close_month"), close["started"])
    last_delivery = counter.last.get(("close", "deliver_invoice"), first)
    pages = sum(row["calls"] for row in rows if row["caller"] == "close_month" and row["operation"] == "Query")
    calls = calls_per_invoice(rows, accounts, pages)
    cost = cost_per_invoice(close, accounts, one_moto)
    wall_s = close["wall_s"]
    checks = dict(verification["checks"])
    # issue 11's targets, as ratios to the target (<= 1 passes)
    targets = {
        "AWS calls per invoice (issue, delivery, fan-out)": (calls["per_invoice_total"], MAX_CALLS_PER_INVOICE),
        "issuer CPU per invoice (ms, containers)": (cost["issue_cpu_ms_per_invoice"], MAX_ISSUER_CPU_MS),
    }
    for name, (value, target) in targets.items():
        checks[f"{name}: {value:.1f} <= {target} ({value / target:.2f} of the target)"] = value <= target
    total_calls = sum(row["calls"] for row in rows)
    checks["at least 99.9 % of the AWS calls attributed to a process"] = (
        calls["unattributed_calls"] <= total_calls / 1000
    )
    checks[
        f"template: MaximumConcurrency {ISSUE_CONCURRENCY}, BatchSize {ISSUE_BATCH}, {ISSUE_MEMORY_MB} MB"
        " (the projection's inputs)"
    ] = settings == {
        "issue_batch_size": ISSUE_BATCH,
        "issue_maximum_concurrency": ISSUE_CONCURRENCY,
        "issue_memory_mb": ISSUE_MEMORY_MB,
    }
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": machine,
        "month": month,
        "accounts": accounts,
        "moto": "stock" if stock_moto else "per-item transaction backup (answers unchanged; see method)",
        "seed": seeded,
        "template": settings,
        "close": {
            "command": " ".join(["python", "-m", "local", "close-month", month, "--state", "<tmp>/stack.json"]),
            "cli_exit_status": close["cli_exit_status"],
            "wall_s": round(wall_s, 1),
            "first_to_last_function_call_s": round(last_delivery - first, 1),
            "invoices_per_s": round(accounts / wall_s, 1),
            "steady_pdfs_per_s": steady_pdf_rate(counter.milestones),
            "cli_report": close["cli_report"],
            "log_errors_tail": errors_tail,
        },
        "verification": verification,
        "calls": calls,
        "cost": cost,
        "projection": project_close(calls, cost),
        "calls_detail": rows,
        "checks": checks,
        "ok": all(checks.values()),
    }


def close_on(stack: EndpointStack, counters: Counters, month: str, accounts: int, timeout_s: float) -> dict:
    """``python -m local close-month`` on the seeded stack: its wall time, and the CPU it cost each process."""
    offset = stack.stderr_path.stat().st_size
    cpu_before = stack.container_cpu()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    moto_before = counters.moto_cpu()
    counters.set_phase("close")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["AWS_SDK_UA_APP_ID"] = "close-month-cli"
    command = [sys.executable, "-m", "local", "close-month", month, "--state", str(stack.state)]
    command += ["--timeout", str(timeout_s)]
    stop = threading.Event()
    started = time.perf_counter()
    threading.Thread(target=progress, args=(counters, stop, accounts, started), daemon=True).start()
    cli = subprocess.run(command, cwd=support.ROOT, env=env, capture_output=True, text=True)
    wall_s = time.perf_counter() - started
    stop.set()
    counters.set_phase("verify")
    cpu_after = stack.container_cpu()
    moto_after = counters.moto_cpu()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        cli_report = json.loads(cli.stdout)
    except ValueError:
        cli_report = {"ok": False, "error": cli.stdout[-2000:] + cli.stderr[-2000:]}
    cpu: dict[str, float] = defaultdict(float)
    for pid, (label, seconds) in cpu_after.items():
        cpu[label] += seconds - cpu_before.get(pid, (label, 0.0))[1]
    return {
        "started": started,
        "wall_s": wall_s,
        "cli_exit_status": cli.returncode,
        "cli_report": cli_report,
        "cpu_s": cpu,
        "cli_cpu_s": (children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        "moto": {name: moto_after[name] - moto_before[name] for name in moto_after},
        "durations": handler_durations(stack.stderr_path, offset),
    }


def cost_per_invoice(close: dict, accounts: int, one_moto: bool) -> dict:
    """The handlers' logged durations and the processes' CPU during the close, per invoice where it is per invoice."""
    cpu, moto, durations = close["cpu_s"], close["moto"], close["durations"]
    moto_cpu_s = moto["main_cpu_s"] + moto["dynamodb_cpu_s"]
    issue_duration = durations.get("IssueInvoiceFunction", {})
    return {
        "issue_handler_ms_per_invoice": round(issue_duration.get("total_ms", 0) / accounts, 2),
        "issue_invocations": issue_duration.get("invocations", 0),
        "issue_messages_per_invocation": round(accounts / issue_duration["invocations"], 2)
        if issue_duration.get("invocations")
        else None,
        "issue_cpu_ms_per_invoice": round(cpu.get("issue_invoice", 0) * 1000 / accounts, 2),
        "deliver_handler_ms_per_invoice": round(
            durations.get("DeliverInvoiceFunction", {}).get("total_ms", 0) / accounts, 2
        ),
        "deliver_cpu_ms_per_invoice": round(cpu.get("deliver_invoice", 0) * 1000 / accounts, 2),
        "close_month_cpu_s": round(cpu.get("close_month", 0), 2),
        "runner_cpu_s": round(cpu.get("local runner", 0), 2),
        "close_month_cli_cpu_s": round(close["cli_cpu_s"], 2),
        "moto_cpu_s": round(moto_cpu_s, 2),
        "moto_processes": "one (--one-moto)" if one_moto else "two: DynamoDB and its streams in their own",
        "moto_main_cpu_s": round(moto["main_cpu_s"], 2),
        "moto_dynamodb_process_cpu_s": round(moto["dynamodb_cpu_s"], 2),
        "moto_cpu_ms_per_invoice": round(moto_cpu_s * 1000 / accounts, 2),
        "moto_dynamodb_busy_s": round(moto["busy_s"], 2),
        "moto_dynamodb_busy_cpu_s": round(moto["lock_cpu_s"], 2),
        "handler_durations": durations,
    }


def steady_pdf_rate(milestones: Counter) -> float | None:
    """PDFs stored per second from the first to the last second one was (None for fewer than 21 seconds)."""
    pdf_seconds = sorted((second, n) for (kind, second), n in milestones.items() if kind == "pdf")
    if len(pdf_seconds) <= 20:
        return None
    span = pdf_seconds[-1][0] - pdf_seconds[0][0] + 1
    return round(sum(n for _, n in pdf_seconds) / span, 1)


def result_name(accounts: int) -> str:
    """``close_month-<N>``: each size's last result is kept."""
    return f"{NAME}-{accounts}"


def add_scaling(result: dict) -> None:
    """Per-invoice wall time and moto CPU against the last run of ``SCALING_BASE`` accounts, when there is one."""
    base_path = support.RESULTS / f"{result_name(SCALING_BASE)}.json"
    if result["accounts"] <= SCALING_BASE or not base_path.exists():
        return
    base = json.loads(base_path.read_text(encoding="utf-8"))

    def per_invoice(run: dict) -> dict:
        return {
            "close_s_per_invoice": run["close"]["wall_s"] / run["accounts"],
            "moto_cpu_ms_per_invoice": run["cost"]["moto_cpu_ms_per_invoice"],
        }

    here, there = per_invoice(result), per_invoice(base)
    ratios = {name: round(here[name] / there[name], 2) for name in here}
    result["scaling"] = {"against": f"{base_path.name} ({base['accounts']} accounts)", "ratios": ratios}
    for name, ratio in ratios.items():
        result["checks"][f"{name} at {result['accounts']} over {base['accounts']}: {ratio} <= {MAX_SCALING}"] = (
            ratio <= MAX_SCALING
        )
    result["ok"] = all(result["checks"].values())


if __name__ == "__main__":
    raise SystemExit(0 if main()["ok"] else 1)
