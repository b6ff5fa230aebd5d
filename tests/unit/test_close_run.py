"""A close run's status: done only when every reserved number has its invoice; attention when one cannot."""

from __future__ import annotations

from dataclasses import replace

import pytest

from billing.errors import CloseOutOfOrder
from billing.invoicing.close_run import (
    CloseRunProgress,
    CloseRunStatus,
    check_close_order,
    close_run_status,
    close_run_view,
)

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


class TestCloseOrder:
    """Months close in order: a refusal names the month to close first."""

    def test_the_first_close_the_same_month_again_and_the_month_after_a_finished_close_may_start(self):
        check_close_order("2026-10", None, None)  # billing begins with whichever month closes first
        check_close_order("2026-10", "2026-10", None)  # a re-run (its mark moved, its run not recorded yet)
        check_close_order("2026-11", "2026-10", FINISHED)

    @pytest.mark.parametrize(
        ("month", "latest", "run", "open_month", "says"),
        [
            ("2026-12", "2026-10", FINISHED, "2026-11", "close 2026-11 first"),
            ("2026-11", "2026-10", replace(FINISHED, issued=3), "2026-10", "3 of 4 accounts issued, 0 failed"),
            (
                "2026-11",
                "2026-10",
                replace(FINISHED, issued=3, failed=1),
                "2026-10",
                "3 of 4 accounts issued, 1 failed",
            ),
            ("2026-11", "2026-10", replace(FINISHED, shards_done=15), "2026-10", "has not finished"),
            ("2026-11", "2026-10", None, "2026-10", "it has not started"),
            ("2026-09", "2026-10", FINISHED, None, "2026-10 has been closed already"),
        ],
    )
    def test_any_other_month_is_refused_naming_the_month_to_close_first(self, month, latest, run, open_month, says):
        with pytest.raises(CloseOutOfOrder) as refused:
            check_close_order(month, latest, run)
        assert (refused.value.status, refused.value.code) == (409, "close_out_of_order")
        assert refused.value.open_month == open_month
        assert month in refused.value.message and says in refused.value.message, refused.value.message

    def test_a_close_of_no_account_is_finished_once_every_shard_is_listed(self):
        empty = replace(FINISHED, total=0, issued=0, last_sequence=0)
        assert empty.every_account_closed
        assert not replace(empty, shards_done=0).every_account_closed
