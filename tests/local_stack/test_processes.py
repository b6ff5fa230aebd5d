"""``local.processes.first_line``: how ``up``, the DynamoDB moto process and the benchmarks report where they listen."""

from __future__ import annotations

import subprocess
import sys
import time

from local.processes import first_line


def child(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)


def test_the_first_line_of_a_child_that_keeps_running():
    process = child(
        "import sys, time; sys.stdout.write('http://127.0.0.1:1\\nmore\\n'); sys.stdout.flush(); time.sleep(30)"
    )
    try:
        assert first_line(process, 10) == "http://127.0.0.1:1"
    finally:
        process.kill()
        process.wait()


def test_none_for_a_child_that_exits_without_a_line_or_stays_silent():
    gone = child("import sys; sys.stdout.write('half a line'); sys.exit(3)")
    assert first_line(gone, 10) is None
    gone.wait()
    silent = child("import time; time.sleep(30)")
    started = time.monotonic()
    try:
        assert first_line(silent, 0.5) is None
        assert time.monotonic() - started < 5
    finally:
        silent.kill()
        silent.wait()
