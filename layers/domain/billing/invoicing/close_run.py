"""A month close as an operator watches it: how far it got, whether someone must look at it, and whether the
next month may close.

Every number the close reserves is meant for an invoice, so the run ends in
one of two ways. Either every account of every fanned-out page is issued (or
skipped) and the month is ``done``; or some account could not be issued: it
failed its last try (the issuer recorded it, with its reserved number) or its
message sits in the dead-letter queue, and the run needs ``attention``. A
retry re-issues those accounts under the numbers reserved for them, so the
month's numbers stay gapless. Until then the run is ``running``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from billing import months
from billing.errors import CloseOutOfOrder
from billing.invoicing.numbers import invoice_number


class CloseRunStatus(StrEnum):
    RUNNING = "running"  # pages still fanning out, or issue messages in flight
    DONE = "done"  # every reserved number has its invoice
    ATTENTION = "attention"  # an account failed or is dead-lettered: retry it (or fix its contract first)


@dataclass(frozen=True)
class CloseRunProgress:
    """The run as its records hold it: pages fanned out, numbers reserved, outcomes counted."""

    month: str
    total: int  # accounts of the recorded pages: one reserved number each
    issued: int
    skipped: int
    failed: int  # outstanding failure records (a retry that issues the account removes its record)
    last_sequence: int  # the last number the close reserved so far (not its corrections'), 0 before any
    shards_done: int  # shards whose last page is recorded
    shards: int  # shards the close fans out

    @property
    def every_account_closed(self) -> bool:
        """Every account the close listed has its invoice, so each one's month is shut and frozen."""
        fanned_out = self.shards_done >= self.shards
        return fanned_out and not self.failed and self.issued + self.skipped >= self.total


def close_run_status(progress: CloseRunProgress, dead_letters: int, delivery_dead_letters: int = 0) -> CloseRunStatus:
    if progress.failed or dead_letters or delivery_dead_letters:
        return CloseRunStatus.ATTENTION
    fanned_out = progress.shards_done >= progress.shards
    if fanned_out and progress.issued + progress.skipped >= progress.total:
        return CloseRunStatus.DONE
    return CloseRunStatus.RUNNING


def close_run_view(
    progress: CloseRunProgress, dead_letters: int, undelivered: int = 0, delivery_dead_letters: int = 0
) -> dict:
    """``GET /v1/close-runs/{month}``'s answer.

    A delivery dead letter needs attention too (the retry re-drives it, and so does the delivery sweep); a
    document merely undelivered is counted but does not: it is in flight, or the sweep announces it again.
    """
    reserved = progress.last_sequence > 0
    return {
        "month": progress.month,
        "status": close_run_status(progress, dead_letters, delivery_dead_letters).value,
        "total": progress.total,
        "issued": progress.issued,
        "skipped": progress.skipped,
        "failed": progress.failed,
        "dead_letters": dead_letters,
        "first_number": invoice_number(progress.month, 1) if reserved else None,
        "last_number": invoice_number(progress.month, progress.last_sequence) if reserved else None,
        "undelivered": undelivered,
        "delivery_dead_letters": delivery_dead_letters,
    }


def check_close_order(month: str, latest: str | None, latest_run: CloseRunProgress | None) -> None:
    """Months close in order; ``CloseOutOfOrder``, naming the month to close first, otherwise.

    ``latest`` is the latest month whose close has started (None before the first close: billing begins with
    whichever month closes first), and ``latest_run`` its progress. A month may start closing when it is that
    month (a re-run), or the month after it once every account of it is closed. So an account's months shut
    one after another: its gate (the last month shut) is never ahead of a month still open, a count for an
    open month is never refused as closed, and one for a closed month is always kept as a late report.
    """
    if latest is None or month == latest:
        return
    if month < latest:
        raise CloseOutOfOrder(
            month,
            None,
            f"{latest} has been closed already, and months close in order (a month before the first"
            " close is not billed here)",
        )
    due = months.next_month(latest)
    if month != due:
        raise CloseOutOfOrder(month, due, f"{due} is still open; close {due} first (months close in order)")
    if latest_run is None or not latest_run.every_account_closed:
        progress = (
            "it has not started"
            if latest_run is None
            else f"{latest_run.issued + latest_run.skipped} of {latest_run.total} accounts issued,"
            f" {latest_run.failed} failed"
        )
        raise CloseOutOfOrder(
            month,
            latest,
            f"the close of {latest} has not finished ({progress}); finish it first (GET /v1/close-runs/{latest},"
            " and POST …/retry for what failed): months close in order",
        )
