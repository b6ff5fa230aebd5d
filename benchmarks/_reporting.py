"""How the benchmarks report: their tables, checks and machine line, and the result files they write.

Measuring lives in each benchmark and in ``_support``; this module only formats
and writes what they measured, the same way for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from benchmarks._support import RESULTS


def method(doc: str) -> str:
    """The "Method" section of a benchmark's docstring (up to a closing "Results ..." paragraph), for its result."""
    return doc.split("Method\n------\n", 1)[1].split("\nResults", 1)[0].strip()


def print_table(title: str, rows: Iterable[Sequence[object]]) -> None:
    """A titled table: the first column left-aligned, the others right-aligned."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    print(f"\n{title}")
    print("-" * len(title))
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))


def print_machine(result: dict) -> None:
    info = result["machine"]
    speed = f", speed reference {info['speed_reference_ms']} ms" if "speed_reference_ms" in info else ""
    print(
        f"  machine: {info['machine']}, {info['cpus']} CPUs, load average {info['load_average_1m']} at the start{speed}"
    )


def print_checks(checks: dict[str, bool]) -> None:
    for check, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {check}")


def write_result(name: str, result: dict) -> Path:
    """``benchmarks/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def finish(name: str, result: dict, print_result: Callable[[dict], None]) -> dict:
    """Print a benchmark's result, write it as ``<name>.json`` and say where: the end of its ``main``."""
    print_result(result)
    print(f"  written to {write_result(name, result)}")
    return result
