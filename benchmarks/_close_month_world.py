"""The world ``close_month`` sets up and then checks: the stack on counted moto, the seeded month, what the close left.

* ``EndpointStack``: ``python -m local up`` on the counted moto servers.
* ``default_month`` and ``seed``: the month closed, its accounts and reports, all through the signed platform API.
* ``wait_for_stream_readers`` and ``progress``: waiting for the seed's stream records, and the close's progress.
* ``verify``: the table, the bucket and the dead-letter queues after the close.
* ``handler_durations``: the ``REPORT ... Duration`` lines the function containers logged.

See ``benchmarks.close_month``'s docstring for the method.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks._moto_counter import Counters, process_label
from benchmarks.local_throughput import LocalStackProcess
from tests import factories

TOKYO = ZoneInfo("Asia/Tokyo")
REPORT_BATCH = 100
REPORT_THREADS = 2  # moto runs DynamoDB requests one at a time: more threads only queue behind each other
REPORT_ATTEMPTS = 6


# ====================================================================== the stack
class EndpointStack(LocalStackProcess):
    """``python -m local up --port 0 --endpoint <moto>``: ``LocalStackProcess`` with our moto, stopped by PID."""

    def __init__(self, workdir: Path, endpoint: str, dynamodb_endpoint: str | None = None):
        super().__init__(workdir)
        self.endpoint = endpoint
        self.dynamodb_endpoint = dynamodb_endpoint

    def command(self) -> list[str]:
        command = [*super().command(), "--endpoint", self.endpoint]
        return command + (["--dynamodb-endpoint", self.dynamodb_endpoint] if self.dynamodb_endpoint else [])

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "AWS_SDK_UA_APP_ID": "local-runner"}  # its containers name themselves

    def container_cpu(self) -> dict[int, tuple[str, float]]:
        """pid → (function folder, CPU seconds) of the stack's containers, and the runner itself."""
        ticks = os.sysconf("SC_CLK_TCK")
        found = {}
        for pid in [self.process.pid, *self.children()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            label = "local runner" if pid == self.process.pid else process_label(pid)
            found[pid] = (label, (int(fields[11]) + int(fields[12])) / ticks)
        return found


# ====================================================================== seeding
def default_month() -> str:
    """Two months back (Tokyo): closed by nobody else, and far enough in the past that every report is valid."""
    first = datetime.now(TOKYO).replace(day=1)
    earlier = (first - timedelta(days=1)).replace(day=1) - timedelta(days=1)
    return earlier.strftime("%Y-%m")


def profile_body(index: int) -> dict:
    """Account ``index``'s body: the four payment × delivery combinations in turn."""
    return factories.profile_body(("bank_transfer", "direct_debit")[index % 2], ("web", "postal")[(index // 2) % 2])


def month_moments(month: str, count: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    start = datetime.strptime(f"{month}-01", "%Y-%m-%d").replace(tzinfo=TOKYO)
    end = (start + timedelta(days=32)).replace(day=1)
    span = int((end - start).total_seconds()) - 1
    return [start + timedelta(seconds=rng.randrange(span)) for _ in range(count)]


def parallel(config: dict, threads: int, items: list, work) -> list:
    """``work(session, item)`` over ``items`` on ``threads`` threads, one signed session per thread."""
    from local.client import SignedSession

    local = threading.local()

    def run(item):
        if not hasattr(local, "api"):
            local.api = SignedSession.from_config(config)
        return work(local.api, item)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, items))


def seed(config: dict, accounts: list[str], month: str, threads: int) -> dict:
    def put(api, pair):
        index, account = pair
        for _ in range(REPORT_ATTEMPTS):  # a PUT is idempotent: resent after a 5xx, as reports are
            response = api.put(f"/v1/accounts/{account}", json=profile_body(index))
            if response.status_code < 500:
                break
            retried.append(response.status_code)
        return response.status_code

    retried: list[int] = []
    started = time.perf_counter()
    statuses = Counter(parallel(config, threads, list(enumerate(accounts)), put))
    profiles_s = time.perf_counter() - started
    if set(statuses) - {200, 201}:
        raise RuntimeError(f"PUT /v1/accounts answered {dict(statuses)}")

    rng = random.Random(7)
    moments = month_moments(month, len(accounts), seed=11)
    reports = [
        {"account_id": account, "count": rng.randint(100, 95_000), "observed_at": moment.isoformat()}
        for account, moment in zip(accounts, moments, strict=True)
    ]
    batches = [reports[i : i + REPORT_BATCH] for i in range(0, len(reports), REPORT_BATCH)]

    def post(api, batch):
        # Reports are idempotent, so a platform resends a batch the gateway failed (here: a function
        # timing out while the one-at-a-time moto works through other threads' batches).
        for _ in range(REPORT_ATTEMPTS):
            response = api.post("/v1/record-counts", json={"reports": batch})
            if response.status_code < 500:
                break
            retried.append(response.status_code)
        if response.status_code != 200:
            return [f"HTTP {response.status_code}: {response.text[:200]}"]
        return [json.dumps(item)[:200] for item in response.json()["results"] if item.get("status") != 200]

    started = time.perf_counter()
    errors = [error for batch_errors in parallel(config, REPORT_THREADS, batches, post) for error in batch_errors]
    reports_s = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} reports failed, e.g. {errors[:3]}")

    samples = []
    for index in sorted({0, len(accounts) // 2, len(accounts) - 1}):
        account, report = accounts[index], reports[index]
        got = parallel(config, 1, [account], lambda api, a: api.get(f"/v1/accounts/{a}").json())[0]
        usage = parallel(config, 1, [account], lambda api, a: api.get(f"/v1/accounts/{a}/usage/{month}").json())[0]
        samples.append(
            {
                "account_id": account,
                "profile_matches": got.get("delivery_method") == profile_body(index)["delivery_method"],
                "peak_matches": usage.get("peak") == report["count"],
            }
        )
    return {
        "method": "HTTP: signed PUT /v1/accounts and POST /v1/record-counts (no direct DynamoDB writes)",
        "threads": threads,
        "profiles": len(accounts),
        "profiles_s": profiles_s,
        "profiles_per_s": len(accounts) / profiles_s,
        "reports": len(reports),
        "report_batches": len(batches),
        "report_threads": REPORT_THREADS,
        "requests_resent_after_5xx": len(retried),
        "reports_s": reports_s,
        "reports_per_s": len(reports) / reports_s,
        "samples": samples,
    }


# ====================================================================== verification
def aws(config: dict, service: str):
    import boto3
    from botocore.config import Config

    from local.runtime import AwsSettings

    return boto3.session.Session().client(
        service,
        endpoint_url=AwsSettings.from_config(config).endpoint_for(service),
        region_name=config["region"],
        aws_access_key_id=config["aws_access_key_id"],
        aws_secret_access_key=config["aws_secret_access_key"],
        config=Config(retries={"mode": "standard", "max_attempts": 3}, user_agent_appid="benchmark"),
    )


def verify(config: dict, state: dict, month: str, accounts: list[str], cli_report: dict) -> dict:
    from billing.dal.clients import from_item
    from billing.dal.close_runs import CloseRunStore

    resources = state["resources"]
    table = resources["BillingTable"]["ref"]
    bucket = resources["InvoiceBucket"]["ref"]
    dynamodb, s3 = aws(config, "dynamodb"), aws(config, "s3")

    invoices, letters = [], 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            pk, sk = raw["pk"]["S"], raw["sk"]["S"]
            if pk.startswith("LETTERS#") and raw.get("month", {}).get("S") == month:
                letters += 1
            elif sk.startswith(f"INVOICE#{month}#"):
                item = from_item(raw)
                invoices.append(
                    {
                        "account_id": pk.split("#", 1)[1],
                        "number": item.get("invoice_number"),
                        "status": item.get("status"),
                        "delivery_method": item.get("delivery_method"),
                        "delivery_status": item.get("delivery_status"),
                        "notified": "notified_at" in item,
                        "pdf_key": item.get("pdf_key"),
                    }
                )
    sequences = sorted(int(str(invoice["number"]).rsplit("-", 1)[-1]) for invoice in invoices if invoice["number"])
    counter = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"MONTH#{month}"}, "sk": {"S": "INVOICE_COUNTER"}})
    run = CloseRunStore(table, dynamodb).get(month)

    keys, versions = set(), Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"invoices/{month}/"):
        keys.update(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(".pdf"))
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=f"invoices/{month}/"):
        versions.update(version["Key"] for version in page.get("Versions", []))  # PDFs and e-invoices

    n = len(accounts)
    web = [invoice for invoice in invoices if invoice["delivery_method"] == "web"]
    postal = [invoice for invoice in invoices if invoice["delivery_method"] == "postal"]
    dead_letters = cli_report.get("dead_letters", {})
    duplicates = [seq for seq, times in Counter(sequences).items() if times > 1]
    missing = sorted(set(range(1, n + 1)) - set(sequences))
    checks = {
        "close-month reported ok (drained, no dead letters)": bool(cli_report.get("ok")),
        f"exactly {n} invoices, one per account": len(invoices) == n
        and {invoice["account_id"] for invoice in invoices} == set(accounts),
        f"invoice numbers are 1..{n}, no gap, no repeat": sequences == list(range(1, n + 1)),
        f"the month's counter stands at {n}": int(counter.get("Item", {}).get("seq", {}).get("N", -1)) == n,
        # announced: every invoice was delivered (below), and only its InvoiceIssued event starts a delivery
        "every invoice issued": all(i["status"] == "issued" for i in invoices),
        "every invoice delivered (web: notified; postal: a letter queued)": all(i["delivery_status"] for i in invoices)
        and all(i["notified"] for i in web)
        and letters == len(postal),
        f"{n} PDFs and {n} e-invoices in S3, one version each, the PDFs at the invoices' keys": len(keys) == n
        and all(count == 1 for count in versions.values())
        and {key for key in versions if key.endswith(".pdf")} == keys
        and sum(key.endswith(".xml") for key in versions) == n
        and {invoice["pdf_key"] for invoice in invoices} == keys,
        f"close run: total = issued = {n}, none failed": run.get("total") == n
        and run.get("issued") == n
        and not run.get("failed"),
    }
    return {
        "invoices": len(invoices),
        "web": len(web),
        "postal": len(postal),
        "letters": letters,
        "numbers": {"first": sequences[0] if sequences else None, "last": sequences[-1] if sequences else None},
        "duplicate_numbers": duplicates[:20],
        "missing_numbers": missing[:20],
        "missing_count": len(missing),
        "counter_seq": int(counter.get("Item", {}).get("seq", {}).get("N", -1)),
        "close_run": run,
        "pdf_objects": len(keys),
        "pdf_versions": sum(n for key, n in versions.items() if key.endswith(".pdf")),
        "einvoice_versions": sum(n for key, n in versions.items() if key.endswith(".xml")),
        "statuses": dict(Counter(i["status"] for i in invoices)),
        "dead_letters": dead_letters,
        "checks": checks,
    }


# ====================================================================== handler time from the log
REPORT_LINE = re.compile(r"^(\w+) \| REPORT RequestId: \S+\s+Duration: ([\d.]+) ms")


def handler_durations(log: Path, offset: int) -> dict:
    totals: dict[str, list[float]] = defaultdict(list)
    with open(log, errors="replace") as handle:
        handle.seek(offset)
        for line in handle:
            match = REPORT_LINE.match(line)
            if match:
                totals[match.group(1)].append(float(match.group(2)))
    return {
        function: {"invocations": len(values), "total_ms": round(sum(values), 1), "max_ms": round(max(values), 1)}
        for function, values in totals.items()
    }


# ====================================================================== waiting
def progress(counters: Counters, stop: threading.Event, n: int, started: float) -> None:
    while not stop.wait(30):
        counter = counters.view()
        issued = counter.count("close", "issue_invoice", "PutObject", "ok")
        delivered = counter.count("close", "deliver_invoice", "SendEmail", "ok") + counter.count(
            "close", "deliver_invoice", "PutItem", "ok"
        )
        print(
            f"  ... {time.perf_counter() - started:5.0f} s: {issued}/{2 * n} documents stored (PDF and e-invoice),"
            f" {delivered}/{n} deliveries"
        )


def wait_for_stream_readers(counters: Counters, quiet_s: float = 10, limit_s: float = 900) -> float:
    """Wait until the churn watch (the table stream's reader) has made no call for ``quiet_s``: seconds waited.

    In a real month the reports came in over weeks and their stream records were read long before the
    close; here they were all written a moment ago, and their backlog is not the close's work.
    """
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        last = counters.view().last.get(("seed", "usage_watch"), started)
        if time.perf_counter() - max(last, started) >= quiet_s:
            break
        time.sleep(1)
    return time.perf_counter() - started
