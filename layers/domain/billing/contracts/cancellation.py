"""Cancellation under the contract's rules (解約).

A cancellation received in month M ends the contract at the earliest at the
end of M+1, and never inside the plan's minimum term: the earliest end month
is the later of M+1 and the term's last month (a 6-month term from 2025-01
lasts through 2025-06). The last month is billed as usual, on an invoice
marked final (最終請求). There is no pause: an account is billed every month
from its start to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing import months
from billing.errors import CancellationTooEarly, InvalidRequest


def add_months(month: str, count: int) -> str:
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def earliest_end_month(received_on: date, contract_start: date, minimum_term_months: int) -> str:
    """The first month the contract may end with: after the month received, and not inside the minimum term."""
    after_receipt = months.next_month(received_on.isoformat()[:7])
    term_end = add_months(contract_start.isoformat()[:7], max(minimum_term_months, 1) - 1)
    return max(after_receipt, term_end)


@dataclass(frozen=True)
class Cancellation:
    received_on: date
    earliest_end_month: str
    end_month: str

    @property
    def contract_end(self) -> date:
        """The last day billed."""
        return months.last_day(self.end_month)

    @classmethod
    def decide(
        cls,
        received_on: date,
        end_month: str | None,
        contract_start: date,
        minimum_term_months: int,
        today: date,
    ) -> Cancellation:
        """The cancellation a request asks for, under the rules; raises when the rules refuse it."""
        if received_on > today:
            raise InvalidRequest(f"received_on {received_on.isoformat()} is in the future (today is {today})")
        if received_on < contract_start:
            raise InvalidRequest(
                f"received_on {received_on.isoformat()} is before contract_start {contract_start.isoformat()}"
            )
        earliest = earliest_end_month(received_on, contract_start, minimum_term_months)
        if end_month is not None and end_month < earliest:
            raise CancellationTooEarly(end_month, earliest)
        return cls(received_on, earliest, end_month or earliest)

    def as_record(self) -> dict:
        return {
            "received_on": self.received_on.isoformat(),
            "earliest_end_month": self.earliest_end_month,
            "end_month": self.end_month,
        }

    @classmethod
    def from_record(cls, record: dict) -> Cancellation:
        return cls(date.fromisoformat(record["received_on"]), record["earliest_end_month"], record["end_month"])

    def as_json(self, account_id: str) -> dict:
        return {"account_id": account_id, **self.as_record(), "contract_end": self.contract_end.isoformat()}
