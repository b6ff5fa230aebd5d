"""The counted moto of ``close_month``: every AWS call of the close, by the process that made it, and per invoice.

A WSGI middleware (``RequestCounter``) in front of ``local.moto_backend.LocalMotoServer``
classifies each request (service, operation, the item kind or queue it touches,
outcome, and the caller named by the app id in its User-Agent) and counts it in
the current phase (``setup``, ``seed``, ``close``, ``verify``). DynamoDB runs in
a second, counted moto process (``python -m benchmarks.close_month
--serve-dynamodb``) whose counts are read over HTTP (``/_counter``) and merged
(``Counters``). See ``benchmarks.close_month``'s docstring for the method.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

from benchmarks import _support as support

# ====================================================================== who called moto
APP_ID = re.compile(r"\bapp/(\S+)")
CALLERS = {"local-runner": "local runner", "close-month-cli": "close-month CLI"}


def caller_of(environ: dict) -> str:
    """The process that sent a request, by the app id in its User-Agent (see the method)."""
    found = APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
    return CALLERS.get(found.group(1), found.group(1)) if found else "unknown"


def process_label(pid: int) -> str:
    """What a process is: a function container (its code folder), the local runner, the CLI, or this benchmark."""
    if pid == os.getpid():
        return "benchmark"
    try:
        environ = dict(
            entry.split("=", 1) for entry in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in entry
        )
        command = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        return "unknown (exited)"
    if "LAMBDA_TASK_ROOT" in environ:
        return Path(environ["LAMBDA_TASK_ROOT"]).name
    if "close-month" in command:
        return "close-month CLI"
    if "up" in command and "local" in command:
        return "local runner"
    return "other: " + " ".join(command)[:60]


# ====================================================================== what was called
def _dynamodb_kind(key: dict | None) -> str:
    """``ACCOUNT/PROFILE``, ``ACCOUNT/INVOICE``, ``MONTH/INVOICE_COUNTER``, ``LETTERS``...: the item's kind."""
    if not key:
        return "?"
    pk = (key.get("pk") or {}).get("S", "?").split("#", 1)[0]
    sk = (key.get("sk") or {}).get("S", "?")
    return pk if pk == "LETTERS" else f"{pk}/{sk.split('#', 1)[0]}"


def _dynamodb_target(operation: str, body: dict) -> str:
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return _dynamodb_kind(body.get("Key"))
    if operation == "PutItem":
        return _dynamodb_kind(body.get("Item"))
    if operation == "TransactWriteItems":
        kinds = []
        for item in body.get("TransactItems", []):
            (spec,) = item.values()
            kinds.append(_dynamodb_kind(spec.get("Key") or spec.get("Item")))
        return "+".join(kinds)
    if operation == "Query":
        return body.get("IndexName") or "table"
    return body.get("TableName", "")


def _s3_operation(method: str, path: str, query: str) -> tuple[str, str]:
    _, _, key = path.lstrip("/").partition("/")
    target = key.split("/", 1)[0] if key else "bucket"
    if key:
        names = {"PUT": "PutObject", "HEAD": "HeadObject", "GET": "GetObject", "DELETE": "DeleteObject"}
        return names.get(method, f"{method} object"), target
    if method == "GET" and "versions" in query:
        return "ListObjectVersions", target
    if method == "GET" and "list-type=2" in query:
        return "ListObjectsV2", target
    return f"{method} bucket?{query.split('=', 1)[0]}", target


def classify(environ: dict, body: bytes) -> tuple[str, str, str, int]:
    """(service, operation, target, messages) of one request to moto."""
    messages = 0
    amz_target = environ.get("HTTP_X_AMZ_TARGET", "")
    if amz_target:
        prefix, _, operation = amz_target.partition(".")
        service = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs", "AWSEvents": "events"}.get(
            prefix, prefix.lower()
        )
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if service == "dynamodb":
            target = _dynamodb_target(operation, data)
        elif service == "sqs":
            target = str(data.get("QueueUrl", data.get("QueueName", ""))).rsplit("/", 1)[-1]
            messages = len(data.get("Entries", [])) if operation.endswith("Batch") else int(operation == "SendMessage")
        elif service == "events":
            target = ",".join(sorted({entry.get("DetailType", "?") for entry in data.get("Entries", [])}))
            messages = len(data.get("Entries", []))
        else:
            target = ""
        return service, operation, target, messages
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    service = scope.group(1) if scope else "?"
    method, path, query = environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return service, action, "", 0
    if service == "s3":
        operation, target = _s3_operation(method, path, query)
        return service, operation, target, 0
    if service == "ses" and path.endswith("/outbound-emails"):
        return "ses", "SendEmail", "", 1
    return service, f"{method} {path[:40]}", "", 0


def _outcome(status: str, headers: list, body: bytes) -> str:
    code = int(status.split(" ", 1)[0])
    if code < 400:
        return "ok"
    for name, value in headers:
        if name.lower() == "x-amzn-errortype":
            return value.split(":", 1)[0].rsplit("#", 1)[-1]
    text = body[:2000].decode("utf-8", "replace")
    match = re.search(r'"__type"\s*:\s*"([^"]+)"', text) or re.search(r"<Code>([^<]+)</Code>", text)
    return match.group(1).rsplit("#", 1)[-1] if match else str(code)


# ====================================================================== the counting moto server
class RequestCounter:
    """WSGI middleware: counts every request by phase, caller, service, operation, target and outcome."""

    def __init__(self, app):
        self.app = app
        self.phase = "setup"
        self.lock = threading.Lock()
        self.calls: Counter = Counter()
        self.messages: Counter = Counter()
        self.seconds: defaultdict = defaultdict(float)
        self.first: dict[tuple, float] = {}
        self.last: dict[tuple, float] = {}
        self.milestones: Counter = Counter()

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO", "").startswith(CONTROL_PATH):
            return self.control(environ, start_response)
        started = time.perf_counter()
        body = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        content_type = environ.get("CONTENT_TYPE", "")
        if 0 < length < 1 << 20 and ("json" in content_type or "x-www-form-urlencoded" in content_type):
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        caller = caller_of(environ)
        service, operation, target, messages = classify(environ, body)
        reply: dict = {}

        def capture(status, headers, exc_info=None):
            reply["status"], reply["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        finished = time.perf_counter()
        outcome = _outcome(reply.get("status", "500"), reply.get("headers", []), b"".join(chunks))
        key = (self.phase, caller, service, operation, target, outcome)
        with self.lock:
            self.calls[key] += 1
            self.messages[key] += messages
            self.seconds[key] += finished - started
            who = (self.phase, caller)
            self.first.setdefault(who, started)
            self.last[who] = finished
            if self.phase == "close" and outcome == "ok":
                if caller == "issue_invoice" and operation == "PutObject":
                    self.milestones[("pdf", int(finished))] += 1
                if caller == "deliver_invoice" and operation == "GetItem":
                    self.milestones[("delivery", int(finished))] += 1
        return chunks

    def set_phase(self, phase: str) -> None:
        with self.lock:
            self.phase = phase

    def control(self, environ: dict, start_response):
        """``GET /_counter``: this counter's snapshot; ``POST /_counter/phase/<name>``: the phase to count in."""
        path = environ["PATH_INFO"][len(CONTROL_PATH) :]
        if environ["REQUEST_METHOD"] == "POST" and path.startswith("/phase/"):
            self.set_phase(path[len("/phase/") :])
        body = json.dumps(self.snapshot()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def snapshot(self) -> dict:
        """Everything counted, as JSON, with this process's CPU and the DynamoDB lock's time (``serial``)."""
        serial = self.app  # the server's SerialDynamoDB (None in a merged view)
        with self.lock:
            tables = {name: [[*key, value] for key, value in getattr(self, name).items()] for name in SNAPSHOT_TABLES}
        return {
            **tables,
            "cpu_s": time.process_time(),
            "busy_s": getattr(serial, "busy_s", 0.0),
            "lock_cpu_s": getattr(serial, "cpu_s", 0.0),
        }

    def absorb(self, snapshot: dict) -> None:
        """Add another counter's snapshot to this one (first calls are the earliest, last the latest)."""
        with self.lock:
            for name in ("calls", "messages", "seconds", "milestones"):
                table = getattr(self, name)
                for *key, value in snapshot[name]:
                    table[tuple(key)] += value
            for *key, value in snapshot["first"]:
                self.first[tuple(key)] = min(value, self.first.get(tuple(key), value))
            for *key, value in snapshot["last"]:
                self.last[tuple(key)] = max(value, self.last.get(tuple(key), value))

    def count(self, phase: str, caller: str | None = None, operation: str | None = None, outcome=None) -> int:
        with self.lock:
            return sum(
                n
                for (p, c, _, o, _, r), n in self.calls.items()
                if p == phase and caller in (None, c) and operation in (None, o) and outcome in (None, r)
            )

    def rows(self, phase: str) -> list[dict]:
        with self.lock:
            return [
                {
                    "caller": caller,
                    "service": service,
                    "operation": operation,
                    "target": target,
                    "outcome": outcome,
                    "calls": n,
                    "messages": self.messages[key],
                    "server_ms": round(self.seconds[key] * 1000 / n, 3),
                }
                for key, n in sorted(self.calls.items())
                for (p, caller, service, operation, target, outcome) in [key]
                if p == phase
            ]


CONTROL_PATH = "/_counter"
SNAPSHOT_TABLES = ("calls", "messages", "seconds", "first", "last", "milestones")


def counting_moto_server(patch_moto: bool = True):
    """A ``LocalMotoServer`` (serial DynamoDB and all, as the stack's own), its app counted: (server, counter)."""
    from local.moto_backend import LocalMotoServer

    counter = RequestCounter(None)

    def count(app):
        counter.app = app
        return counter

    server = LocalMotoServer(wrap=count, patched=patch_moto)
    return server, counter


class Counters:
    """This process's counter and, when DynamoDB has its own process, that one's, read together."""

    def __init__(self, here: RequestCounter, dynamodb_url: str | None = None):
        self.here = here
        self.dynamodb_url = dynamodb_url

    def _remote(self, method: str = "GET", path: str = "") -> dict | None:
        if not self.dynamodb_url:
            return None
        import requests

        response = requests.request(method, f"{self.dynamodb_url}{CONTROL_PATH}{path}", timeout=60)
        response.raise_for_status()
        return response.json()

    def set_phase(self, phase: str) -> None:
        self.here.set_phase(phase)
        self._remote("POST", f"/phase/{phase}")

    def view(self) -> RequestCounter:
        """Both counters' requests so far, as one counter."""
        merged = RequestCounter(None)
        merged.absorb(self.here.snapshot())
        remote = self._remote()
        if remote:
            merged.absorb(remote)
        return merged

    def moto_cpu(self) -> dict:
        """CPU seconds so far of each moto process, and the DynamoDB lock's busy and CPU seconds."""
        here, remote = self.here.snapshot(), self._remote() or {"cpu_s": 0.0, "busy_s": 0.0, "lock_cpu_s": 0.0}
        return {
            "main_cpu_s": here["cpu_s"],
            "dynamodb_cpu_s": remote["cpu_s"],
            "busy_s": here["busy_s"] + remote["busy_s"],
            "lock_cpu_s": here["lock_cpu_s"] + remote["lock_cpu_s"],
        }


def serve_dynamodb(patch_moto: bool) -> None:
    """``--serve-dynamodb``: the counted DynamoDB moto process (its URL first on standard output)."""
    from local.moto_backend import serve

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    support.use_project_paths()
    server, _ = counting_moto_server(patch_moto)
    serve(server)


@contextmanager
def counted_moto(stock_moto: bool = False, one_moto: bool = False) -> Iterator[tuple[object, Counters]]:
    """The counted moto servers, started: (this process's ``LocalMotoServer``, the counters of both).

    DynamoDB and its streams get their own process (``--serve-dynamodb``) unless ``one_moto``.
    """
    from local.moto_backend import MotoProcess

    command = [sys.executable, "-m", "benchmarks.close_month", "--serve-dynamodb"]
    dynamodb = None if one_moto else MotoProcess(command + (["--stock-moto"] if stock_moto else [])).launch()
    server, counter = counting_moto_server(patch_moto=not stock_moto)
    server.start()
    try:
        yield server, Counters(counter, dynamodb.wait_ready() if dynamodb else None)
    finally:
        server.stop()
        if dynamodb:
            dynamodb.stop()


# ====================================================================== calls per invoice
def calls_per_invoice(rows: list[dict], invoices: int, pages: int) -> dict:
    def group(caller: str) -> list[dict]:
        return [row for row in rows if row["caller"] == caller]

    def per_service(selected: list[dict], by_target: bool = False) -> dict:
        totals = Counter()
        for row in selected:
            name = f"{row['service']}.{row['operation']}"
            totals[f"{name} {row['target']}".strip() if by_target else name] += row["calls"]
        return {name: round(count / invoices, 3) for name, count in sorted(totals.items())}

    issue, deliver, close = group("issue_invoice"), group("deliver_invoice"), group("close_month")
    per_invoice_close = [
        row for row in close if row["operation"] == "SendMessageBatch" and "issueinvoice" in row["target"]
    ]
    fixed_close = [row for row in close if row not in per_invoice_close]
    page_claims = [row for row in close if row["operation"] == "TransactWriteItems"]

    def dynamodb_calls(operations) -> float:
        functions = issue + deliver
        return round(
            sum(r["calls"] for r in functions if r["service"] == "dynamodb" and r["operation"] in operations)
            / invoices,
            3,
        )

    runner = [row for row in rows if row["caller"] in ("local runner", "close-month CLI")]
    # usage_watch: the table's stream consumer, which reads every write of the close (not per-invoice work)
    known = {
        "issue_invoice",
        "deliver_invoice",
        "close_month",
        "local runner",
        "close-month CLI",
        "benchmark",
        "usage_watch",
    }
    return {
        "issue_invoice": per_service(issue),
        "issue_invoice_by_target": per_service(issue, by_target=True),
        "deliver_invoice_by_target": per_service(deliver, by_target=True),
        "deliver_invoice": per_service(deliver),
        "close_month_per_invoice": per_service(per_invoice_close),
        "close_month_fixed": {
            "calls": sum(row["calls"] for row in fixed_close),
            "pages": pages,
            "by_operation": {
                f"{row['service']}.{row['operation']} {row['target']} {row['outcome']}": row["calls"]
                for row in fixed_close
            },
        },
        "per_invoice_total": round(sum(row["calls"] for row in issue + deliver + per_invoice_close) / invoices, 3),
        "per_invoice_by_service": {
            service: round(
                sum(r["calls"] for r in issue + deliver + per_invoice_close if r["service"] == service) / invoices, 3
            )
            for service in sorted({r["service"] for r in issue + deliver + per_invoice_close})
        },
        "dynamodb_writes_per_invoice": dynamodb_calls(support.WRITE_OPERATIONS),
        "dynamodb_reads_per_invoice": dynamodb_calls(support.READ_OPERATIONS),
        "numbering": {  # blocks reserved per page by close_month; the issuers never touch the counter
            "page_claims_won": sum(row["calls"] for row in page_claims if row["outcome"] == "ok"),
            "page_claims_lost": sum(row["calls"] for row in page_claims if row["outcome"] != "ok"),
            "issuer_counter_calls": sum(r["calls"] for r in issue if "INVOICE_COUNTER" in r["target"]),
        },
        "issue_errors": {
            f"{r['operation']} {r['target']} {r['outcome']}": r["calls"]
            for r in issue + deliver
            if r["outcome"] != "ok"
        },
        "runner": {
            f"{r['caller']}: {r['service']}.{r['operation']} {r['target']}": r["calls"] for r in runner if r["calls"]
        },
        "unattributed_calls": sum(r["calls"] for r in rows if r["caller"] not in known),
        "unattributed": sorted({r["caller"] for r in rows if r["caller"] not in known}),
    }
