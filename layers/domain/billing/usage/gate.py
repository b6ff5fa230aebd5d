"""The gate: which months of an account take count reports.

A report passes the gate only if its account exists, the account's contract
has started by the report's month (``contract_start`` before the first day of
the month after) and has not ended by the report's day, and the month is not
closed (months close in order, so the latest closed month, ``closed_through``,
is before it). The gate also keeps the month's last count: a report passes
only when its reading beats that count as the last
(``Reading.beats_as_last``), so the gate is a maximum like the day highs.

``billing.dal.usage`` holds all of this as the condition of one write, and
reads nothing first: when the condition fails, ``Gate.refusal`` tells why from
the account's profile as the failed write returned it.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing import months
from billing.errors import AccountCancelled, AccountNotFound, BillingError, ContractNotStarted, MonthClosed
from billing.usage.counts import CountReport


@dataclass(frozen=True)
class Account:
    """What the gate reads of an account's profile."""

    contract_start: str  # YYYY-MM-DD
    contract_end: str | None = None  # YYYY-MM-DD, once cancelled
    closed_through: str | None = None  # YYYY-MM, the account's latest closed month


@dataclass(frozen=True)
class Gate:
    """One report at the gate: what the gate's condition compares it with."""

    account_id: str
    month: str  # YYYY-MM, the report's month
    day: str  # YYYY-MM-DD, the report's day in Asia/Tokyo: the contract must not have ended before it
    month_after: str  # YYYY-MM-DD, the first day of the month after: the contract must start before it

    @classmethod
    def of(cls, report: CountReport) -> Gate:
        month = report.month
        return cls(
            account_id=report.account_id,
            month=month,
            day=report.day.isoformat(),
            month_after=months.first_day(months.next_month(month)).isoformat(),
        )

    def refusal(self, account: Account | None) -> BillingError | None:
        """Why the gate did not let the report through, given the account as it stood (None: no such account).

        None when nothing refuses it: a later reading is already the month's last count, so the gate had
        nothing to keep. Outside the contract is told first: such a report changes nothing, while one for a
        closed month is a late report (``billing.usage.late``).
        """
        if account is None:
            return AccountNotFound(self.account_id)
        if account.contract_start[:7] > self.month:
            return ContractNotStarted(self.account_id, account.contract_start)
        if account.contract_end is not None and account.contract_end < self.day:
            return AccountCancelled(self.account_id, account.contract_end)
        if account.closed_through is not None and account.closed_through >= self.month:
            return MonthClosed(self.month)
        return None
