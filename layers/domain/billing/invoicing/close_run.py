"""A month close as an operator watches it: how far it got, and whether someone must look at it.

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
