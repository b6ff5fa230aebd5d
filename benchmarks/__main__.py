"""``python -m benchmarks [NAME ...]``: run every benchmark (or the ones named) and print a summary.

Each benchmark is a module of this package with a ``main(argv)`` that prints
its own table, writes ``benchmarks/results/<name>.json`` and returns its
result. A benchmark that raises is reported and the others still run. The
exit status is 1 when one raised or one of its checks failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from benchmarks import _reporting as reporting
from benchmarks import _support as support

# The order they run in: the in-process ones first, the ones that start servers last (the month close is longest).
ORDER = [
    "count_handler",
    "cold_start",
    "render_pdf",
    "render_einvoice",
    "issue_invoice",
    "print_run",
    "local_throughput",
    "close_month",
]


def available() -> list[str]:
    found = [
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_") and not info.ispkg
    ]
    return sorted(found, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))


def checks_of(result: dict) -> dict[str, bool]:
    """A benchmark's pass/fail checks, whichever of the two shapes it reports them in (None: not measured)."""
    checks = result.get("checks") or result.get("meets_targets") or {}
    return {name: ok for name, ok in checks.items() if ok is not None}


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {names})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; there are {', '.join(names)}")

    summary: dict[str, dict] = {}
    for name in args.names or names:
        print(f"\n=== {name} " + "=" * max(0, 70 - len(name)))
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            result = module.main([])
        except Exception as error:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            summary[name] = {"status": "error", "error": f"{type(error).__name__}: {error}"}
            continue
        checks = checks_of(result)
        lines = module.summary(result) if hasattr(module, "summary") else []
        summary[name] = {
            "status": "ok" if all(checks.values()) else "FAIL",
            "seconds": round(time.perf_counter() - start, 1),
            "summary": lines,
            "failed_checks": [check for check, ok in checks.items() if not ok],
            "warnings": result.get("warnings", []),
        }

    print("\n=== summary " + "=" * 63)
    for name, entry in summary.items():
        took = f" ({entry['seconds']} s)" if "seconds" in entry else ""
        print(f"{name}: {entry['status']}{took}")
        for line in entry.get("summary", []):
            print(f"  {line}")
        for check in entry.get("failed_checks", []):
            print(f"  FAILED: {check}")
        for warning in entry.get("warnings", []):
            print(f"  warning: {warning}")
        if "error" in entry:
            print(f"  {entry['error']}")
    path = reporting.write_result("summary", {"benchmarks": summary})
    print(f"\n(results in {path.parent.relative_to(support.ROOT)}/; summary {json.dumps(path.name)})")
    return 0 if all(entry["status"] == "ok" for entry in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
