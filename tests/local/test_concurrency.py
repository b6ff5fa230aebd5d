"""Concurrent reports for one account end with the true peak and the true last count."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from local.client import SignedSession
from tests.local.support import recent_times, same_instant
from tests.stacks import RunningStack

THREADS, REPORTS_PER_THREAD = 8, 30


def test_concurrent_shuffled_reports_end_with_the_true_peak_and_last_count(local_stack: RunningStack, account: str):
    # Given 240 reports for one account with shuffled counts, the maximum reported twice (earliest must win)
    moments = recent_times(THREADS * REPORTS_PER_THREAD)
    rng = random.Random(20261125)
    counts = rng.sample(range(10_000, 99_999), len(moments))
    top = max(counts)
    second_top_at = rng.choice([index for index, count in enumerate(counts) if count != top])
    counts[second_top_at] = top
    reports = [{"count": count, "observed_at": at.isoformat()} for count, at in zip(counts, moments, strict=True)]
    rng.shuffle(reports)
    chunks = [reports[index::THREADS] for index in range(THREADS)]

    # When 8 platform workers send them at the same time, one report per request
    def send(chunk: list[dict]) -> list[int]:
        with SignedSession.from_config(local_stack.config) as api:
            return [api.post(f"/v1/accounts/{account}/record-counts", json=report).status_code for report in chunk]

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [status for chunk_statuses in pool.map(send, chunks) for status in chunk_statuses]

    # Then every report was taken
    assert statuses == [200] * len(reports)
    # And the month holds the true maximum, observed at the earliest time it was reported
    with SignedSession.from_config(local_stack.config) as api:
        month = api.get(f"/v1/accounts/{account}/usage/{moments[0]:%Y-%m}").json()
    first_top = min(at for count, at in zip(counts, moments, strict=True) if count == top)
    assert month["peak"] == top
    assert same_instant(month["peak_observed_at"], first_top)
    # And the last count is the report with the latest observed_at, whatever order they arrived in
    assert month["last_count"] == counts[-1]
    assert same_instant(month["last_observed_at"], moments[-1])
