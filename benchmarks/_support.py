"""What the benchmarks share for measuring: paths, the template, handler loading, events, the machine.

How they report (tables, checks, result files) is in ``_reporting``.

Kept free of pytest so ``python -m benchmarks`` needs only the dev venv.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
REGION = "ap-northeast-1"
TABLE = "billing-bench"

# What template.yaml's Globals set, plus fake credentials for moto.
HANDLER_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": TABLE,
    "STAGE": "dev",
    "POWERTOOLS_SERVICE_NAME": "invoicing",
    "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


def use_project_paths() -> None:
    """Make ``billing`` (the domain layer) and ``local`` importable, as pytest's pythonpath does."""
    for path in (ROOT / "layers" / "domain", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def use_pdf_layer() -> None:
    """Also make ``invoice_pdf`` (the PDF layer) importable, for the benchmarks that render."""
    path = ROOT / "layers" / "pdf"
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    use_project_paths()


def create_tables(client, table: str = TABLE) -> None:
    """The BillingTable, built from template.yaml's own key schema, exactly as the integration tests do."""
    use_project_paths()
    from tests.integration.conftest import create_table

    create_table(client, table)


def load_template() -> dict:
    use_project_paths()
    from local.template import load_yaml

    return load_yaml(ROOT / "template.yaml")


def function_env(logical_id: str) -> dict[str, str]:
    """The Environment.Variables that template.yaml gives a function (Globals merged), refs resolved."""
    template = load_template()
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    variables.update(own)
    refs = {"BillingTable": TABLE, "Stage": "dev"}

    def resolve(value: object) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return refs.get(value["Ref"], f"bench-{value['Ref'].lower()}")
        if isinstance(value, dict):  # GetAtt, Sub, ...: a stand-in, nothing reads it at import
            return "bench-" + "-".join(str(part).lower() for part in value.values())
        return str(value)

    return {name: resolve(value) for name, value in variables.items()}


def load_function(folder: str) -> ModuleType:
    """Import functions/<folder>/app.py under its own module name, as the tests do."""
    use_project_paths()
    from tests.conftest import load_function as load

    return load(folder)


def load_event(name: str) -> dict:
    use_project_paths()
    from tests.conftest import load_event as load

    return load(name)


def api_event(template: dict, path: str, body: object, path_parameters: dict | None = None) -> dict:
    """An API Gateway HTTP API v2 event like ``template`` (one of events/*.json) for another path and body."""
    event = json.loads(json.dumps(template))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["body"] = json.dumps(body, ensure_ascii=False)
    event["headers"]["content-length"] = str(len(event["body"].encode()))
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    return event


class LambdaContext:
    function_name = "bench-function"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:bench-function"
    aws_request_id = "bench-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def previous_month(now: datetime | None = None) -> tuple[int, int]:
    """(year, month) of the month before now, so every report is in the past whatever the date."""
    now = now or datetime.now(UTC)
    return (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)


def speed_reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (3,000,000 additions), the least of three runs.

    This shared 2-core host's speed drifts by up to half between hours (the same loop measured
    1.3 s and 2.0 s for 10,000,000 additions on one day), so every result records it beside its
    CPU figures: compare two results' CPU figures only with their speed references in view.
    """
    best = float("inf")
    for _ in range(3):
        started, total = time.process_time(), 0
        for number in range(3_000_000):
            total += number
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the figures depend on: CPUs, how busy and how fast the machine was when the benchmark started."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "speed_reference_ms": speed_reference_ms(),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    """The 95th percentile, the lower of the two values it falls between."""
    return sorted(values)[int(0.95 * (len(values) - 1))]


def set_env(values: dict[str, str]) -> dict[str, str | None]:
    """Set variables; returns what they were, for ``restore_env``."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    return old


def restore_env(old: dict[str, str | None]) -> None:
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class MotoTimer:
    """CPU time moto spends answering botocore in this process (its in-process emulation)."""

    def __init__(self):
        from moto.core.botocore_stubber import BotocoreStubber

        self._cls = BotocoreStubber
        self._original = BotocoreStubber.process_request
        self.seconds = 0.0

    def __enter__(self):
        original = self._original

        def timed(stubber, request):
            start = time.process_time()
            try:
                return original(stubber, request)
            finally:
                self.seconds += time.process_time() - start

        self._cls.process_request = timed
        return self

    def __exit__(self, *_):
        self._cls.process_request = self._original
