"""A child process's first line of output, awaited with a deadline: how the local tools learn a server's address."""

from __future__ import annotations

import os
import select
import subprocess
import time


def first_line(process: subprocess.Popen, timeout_s: float) -> str | None:
    """The first line ``process`` writes to its stdout pipe; None if it exits, closes it or runs out of time first."""
    deadline, line = time.monotonic() + timeout_s, b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            return None
        if select.select([process.stdout], [], [], remaining)[0]:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                return None
            line += chunk
    return line.split(b"\n", 1)[0].decode()
