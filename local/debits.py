"""The operator's debit-run commands on the local stack, over the signed operator API as a billing team would use it.

``python -m local debit-run YYYY-MM-DD`` makes (or reads) the date's run, waits for its request file and saves it
as ``<out>/debit-runs/<date>/request.txt``; ``python -m local debit-results YYYY-MM-DD FILE`` uploads the bank's
result file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import requests

from local.client import SignedSession

OCTET_STREAM = {"Content-Type": "application/octet-stream"}


def debit_run(
    api: SignedSession, debit_date: str, out: Path | None, timeout_s: float = 120, progress: Callable = print
) -> tuple[bool, dict]:
    """Make the date's run (or find it made), wait until its file is archived, and save the file under ``out``."""
    made = api.post("/v1/debit-runs", json={"debit_date": debit_date})
    run = made.json()
    if made.status_code not in (200, 201):
        return False, run
    progress(f"debit run {debit_date}: {'made' if made.status_code == 201 else 'made before'}, {run['status']}")
    deadline = time.monotonic() + timeout_s
    while run["status"] == "planning":
        if time.monotonic() > deadline:
            return False, run
        time.sleep(0.5)
        run = api.get(f"/v1/debit-runs/{debit_date}").json()
    progress(f"debit run {debit_date}: {run['records']} records, ¥{run['total']:,}, {len(run['skipped'])} skipped")
    if out is not None and run["file_url"]:
        path = out / "debit-runs" / debit_date / "request.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(requests.get(run["file_url"], timeout=30).content)
        run = {**run, "saved_to": str(path)}
    return True, run


def debit_results(api: SignedSession, debit_date: str, body: bytes) -> tuple[bool, dict]:
    """Upload the bank's result file for the date's run; whether it was taken, and the answer."""
    answer = api.post(f"/v1/debit-runs/{debit_date}/results", data=body, headers=OCTET_STREAM)
    return answer.status_code == 200, answer.json()
