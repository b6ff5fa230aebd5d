"""A close run's status: done only when every reserved number has its invoice; attention when one cannot."""

from __future__ import annotations

from dataclasses import replace

import pytest

from billing.invoicing.close_run import CloseRunProgress, CloseRunStatus, close_run_status, close_run_view

FINISHED = CloseRunProgress(
    month="2026-10", total=4, issued=4, skipped=0, failed=0, last_sequence=4, shards_done=16, shards=16
)


def test_every_number_issued_after_the_last_page_is_done():
    assert close_run_status(FINISHED, dead_letters=0) is CloseRunStatus.DONE


@pytest.mark.parametrize(
    ("progress", "why"),
    [
        (replace(FINISHED, issued=3), "an issue message is in flight"),
        (replace(FINISHED, shards_done=15), "a shard has pages left: the total will grow"),
        (replace(FINISHED, total=0, issued=0, last_sequence=0, shards_done=0), "nothing fanned out yet"),
    ],
)
def test_a_close_with_work_left_is_running(progress, why):
    assert close_run_status(progress, dead_letters=0) is CloseRunStatus.RUNNING, why


@pytest.mark.parametrize(
    ("progress", "dead_letters"),
    [
        (replace(FINISHED, issued=3, failed=1), 0),  # its last try failed
        (replace(FINISHED, issued=3), 1),  # dead-lettered without a record (a timeout on its last try)
        (replace(FINISHED, issued=3, shards_done=3, failed=1), 0),  # even while other pages still fan out
    ],
)
def test_a_failure_or_a_dead_letter_needs_attention(progress, dead_letters):
    assert close_run_status(progress, dead_letters) is CloseRunStatus.ATTENTION


def test_a_month_with_no_billable_account_is_done_and_has_no_numbers():
    empty = replace(FINISHED, total=0, issued=0, last_sequence=0)
    view = close_run_view(empty, dead_letters=0)
    assert (view["status"], view["first_number"], view["last_number"]) == ("done", None, None)


def test_the_view_names_the_first_and_the_last_reserved_number():
    view = close_run_view(replace(FINISHED, total=12, issued=12, last_sequence=12), dead_letters=0)
    assert (view["first_number"], view["last_number"]) == ("INV-202610-0000001", "INV-202610-0000012")
