"""Projections to AWS: measured calls and CPU priced at assumed AWS latencies and Lambda CPU.

The assumed latencies and the CPU scaling are shared by ``close_month`` (1,000,000
accounts closed) and ``print_run`` (100,000 letters in a day); ``project_close``
is ``close_month``'s projection. Their results are models, never measurements:
the latencies below are inputs, listed in each result's JSON.
"""

from __future__ import annotations

import math
from collections import Counter

from benchmarks import _support as support

# Assumed AWS latencies (ms, same region, warm connections): the projections' inputs, not measurements.
AWS_LATENCY_MS = {
    "dynamodb.GetItem": 5.0,
    "dynamodb.UpdateItem": 5.0,
    "dynamodb.PutItem": 5.0,
    "dynamodb.Query": 10.0,
    "dynamodb.BatchGetItem": 10.0,
    "dynamodb.TransactWriteItems": 10.0,
    "s3.HeadObject": 15.0,
    "s3.PutObject": 30.0,
    "events.PutEvents": 20.0,
    "sqs.SendMessageBatch": 10.0,
    "ses.SendEmail": 30.0,
}
AWS_LATENCY_DEFAULT_MS = 10.0
LAMBDA_FULL_VCPU_MB = 1769  # a Lambda gets one whole vCPU at 1,769 MB, and CPU in proportion below

# close_month's projection
PROJECTED_ACCOUNTS = 1_000_000
# The template's settings it rests on (close_month checks them against template.yaml at run time).
ISSUE_CONCURRENCY = 200  # IssueInvoiceQueue event source: ScalingConfig.MaximumConcurrency
ISSUE_BATCH = 10  # its BatchSize
SHARDS = 16  # billing.dal.keys.ACCOUNT_SHARDS
PAGE_SIZE = 500  # billing/invoicing/close_run.py PAGE_SIZE
ISSUE_MEMORY_MB = 1024
ESM_BATCH_OVERHEAD_MS = 20.0  # Lambda's poller hand-off per batch of 10 (receive, invoke, delete)
PARTITION_WCU_PER_S = 1000  # DynamoDB's per-partition write limit; one item never spans partitions


def template_settings() -> dict:
    """What template.yaml sets of the issue function's settings above (``close_month`` checks they agree)."""
    resources = support.load_template()["Resources"]
    issue = resources["IssueInvoiceFunction"]["Properties"]["Events"]["IssueInvoice"]["Properties"]
    return {
        "issue_batch_size": int(issue["BatchSize"]),
        "issue_maximum_concurrency": int(issue["ScalingConfig"]["MaximumConcurrency"]),
        "issue_memory_mb": int(resources["IssueInvoiceFunction"]["Properties"]["MemorySize"]),
    }


def latency_of(name: str) -> float:
    return AWS_LATENCY_MS.get(name, AWS_LATENCY_DEFAULT_MS)


def priced(calls: dict) -> float:
    """Milliseconds of AWS calls, one after another, for call counts named ``service.Operation[ target]``."""
    return sum(count * latency_of(name.split(" ", 1)[0]) for name, count in calls.items())


def project_close(calls: dict, cost: dict) -> dict:
    """1,000,000 accounts on AWS, from the measured calls and CPU per invoice and the assumed latencies.

    Issuers do not contend: each invoice's number arrives with its message, so
    the issue rate is the concurrency over the per-invoice time. The caps are
    the items many invoices write: the per-shard progress items (one
    transactional write of a small item per invoice, 2 WCU, spread over
    ``SHARDS`` partition keys) and the month's counter (one write per page).
    """
    cpu_ms = cost["issue_cpu_ms_per_invoice"] * LAMBDA_FULL_VCPU_MB / ISSUE_MEMORY_MB
    calls_ms = priced(calls["issue_invoice_by_target"])
    per_invoice_ms = calls_ms + cpu_ms + ESM_BATCH_OVERHEAD_MS / ISSUE_BATCH
    issue_rate = ISSUE_CONCURRENCY * 1000 / per_invoice_ms
    progress_cap = SHARDS * PARTITION_WCU_PER_S / 2
    rate = min(issue_rate, progress_cap)

    pages = SHARDS * math.ceil(PROJECTED_ACCOUNTS / SHARDS / PAGE_SIZE)
    # A page: read it back (absent), query 500 accounts, read the counter, one transaction, 50 SendMessageBatch.
    page_ms = 2 * latency_of("dynamodb.GetItem") + latency_of("dynamodb.Query") + 10.0 + 100
    page_ms += PAGE_SIZE / 10 * latency_of("sqs.SendMessageBatch")
    fanout_s = PROJECTED_ACCOUNTS / SHARDS / PAGE_SIZE * page_ms / 1000  # each shard's pages run in turn
    issue_s = PROJECTED_ACCOUNTS / rate
    per_invoice = Counter()
    for group in ("issue_invoice", "deliver_invoice", "close_month_per_invoice"):
        per_invoice.update(calls[group])
    requests = {name: round(count * PROJECTED_ACCOUNTS) for name, count in sorted(per_invoice.items())}
    fixed = {"dynamodb.GetItem": 2 * pages, "dynamodb.Query": pages, "dynamodb.TransactWriteItems": pages}
    for name, count in fixed.items():
        requests[name] = requests.get(name, 0) + count
    return {
        "label": "PROJECTION (a model from measured counts and assumed latencies, not a measurement)",
        "accounts": PROJECTED_ACCOUNTS,
        "assumptions": {
            "aws_latency_ms": AWS_LATENCY_MS,
            "other_call_ms": AWS_LATENCY_DEFAULT_MS,
            "issue_concurrency": ISSUE_CONCURRENCY,
            "batch_size": ISSUE_BATCH,
            "esm_overhead_ms_per_batch": ESM_BATCH_OVERHEAD_MS,
            "lambda_cpu": f"measured local container CPU x {LAMBDA_FULL_VCPU_MB}/{ISSUE_MEMORY_MB}"
            " (1,024 MB is 0.58 vCPU; a core of this machine taken as equal to a Graviton core)",
            "partition_wcu_per_s": PARTITION_WCU_PER_S,
            "fanout": f"{SHARDS} shards walked in parallel, {PAGE_SIZE} accounts a page, +100 ms SQS->Lambda a page",
        },
        "per_invoice_ms": {
            "aws_calls": round(calls_ms, 1),
            "lambda_cpu": round(cpu_ms, 1),
            "total": round(per_invoice_ms, 1),
        },
        "issue_rate_per_s": round(issue_rate, 1),
        "progress_items_cap_per_s": round(progress_cap),
        "counter_writes_at_1m": pages,
        "fanout_minutes": round(fanout_s / 60, 1),
        "wall_minutes": round((max(issue_s, fanout_s) + page_ms / 1000) / 60, 1),
        "requests_at_1m": requests,
        "requests_at_1m_totals": {
            service: sum(count for name, count in requests.items() if name.startswith(service + "."))
            for service in ("dynamodb", "s3", "sqs", "events", "ses")
        },
    }
