"""Record counts and the month's peak.

The fee is set by the month's largest record count (the peak). Each report
is folded into a month by two independent maxima, both kept by DynamoDB
conditional writes (see ``billing.dal.usage``):

* the day's high: the largest count of each Asia/Tokyo day, earliest first
  on ties. The month's peak is the largest of the day highs and the opening
  count, so it needs no write of its own;
* the last count: the count with the latest ``observed_at``, which carries
  over as the next month's opening count.

Both are maxima over the reports, so any order and any repetition of the same
reports gives the same month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from billing import months
from billing.errors import InvalidRequest

if TYPE_CHECKING:  # the count path never loads the tariff
    from billing.tariff import Tariff

FUTURE_TOLERANCE = timedelta(minutes=5)


class Flagged(Protocol):
    """A suspected 洗い替え as the usage body lists it (``billing.usage.churn.ChurnEpisode``, which reads counts)."""

    def as_json(self) -> dict: ...


@dataclass(frozen=True)
class CountReport:
    account_id: str
    count: int
    observed_at: datetime

    @classmethod
    def received(cls, account_id: str, count: int, observed_at: datetime, now: datetime | None = None) -> CountReport:
        """A report whose fields are already typed (``billing.schema``); what a type cannot say is checked here."""
        now = now or datetime.now(UTC)
        # "Not in the future" moves with the clock, so no schema can hold it.
        if observed_at - now > FUTURE_TOLERANCE:
            raise InvalidRequest(
                f"observed_at {observed_at.isoformat()} is more than 5 minutes in the future"
                f" (server time {now.isoformat()})"
            )
        return cls(account_id, count, observed_at)

    @property
    def month(self) -> str:
        return months.month_of(self.observed_at)

    @property
    def day(self) -> date:
        return months.day_of(self.observed_at)

    @property
    def at(self) -> int:
        return months.to_micros(self.observed_at)

    @property
    def reading(self) -> Reading:
        return Reading(self.count, self.at)


@dataclass(frozen=True, order=True)
class Reading:
    """A count and when it was observed (microseconds since the epoch)."""

    count: int
    at: int

    def beats_as_high(self, other: Reading | None) -> bool:
        """Higher count wins; on equal counts the earlier observation does."""
        return other is None or self.count > other.count or (self.count == other.count and self.at < other.at)

    def beats_as_last(self, other: Reading | None) -> bool:
        """Later observation wins; on the same instant the higher count does."""
        return other is None or self.at > other.at or (self.at == other.at and self.count > other.count)


@dataclass(frozen=True)
class MonthUsage:
    """What one account's month holds: the input to its invoice."""

    account_id: str
    month: str
    opening_count: int = 0
    days: dict[date, Reading] = field(default_factory=dict)
    last: Reading | None = None
    closed: bool = False
    late: tuple[Reading, ...] = ()  # reports that arrived after the month closed: kept, never billed by the close
    invoiced_peak: int | None = None  # the peak of the month's latest correction, once one was issued

    def with_late_reports(self) -> MonthUsage:
        """The month as it would have been had the late reports come in time: what a correction bills."""
        days = dict(self.days)
        for reading in self.late:
            day = months.day_of(months.from_micros(reading.at))
            if reading.beats_as_high(days.get(day)):
                days[day] = reading
        return replace(self, days=days, late=())

    def correction_suggested(self, tariff: Tariff) -> bool:
        """The late reports' peak falls in a higher bracket than the billed peak."""
        late_peak = max((reading.count for reading in self.late), default=0)
        invoiced = self.peak.count if self.invoiced_peak is None else self.invoiced_peak
        return tariff.bracket_of(late_peak) > tariff.bracket_of(invoiced)

    @property
    def peak(self) -> Reading:
        # The opening count stands from 00:00 on the 1st, so it wins ties.
        best = Reading(self.opening_count, months.to_micros(months.month_start(self.month)))
        for reading in self.days.values():
            if reading.beats_as_high(best):
                best = reading
        return best

    @property
    def peak_observed_at(self) -> int | None:
        peak = self.peak
        return None if peak.count == 0 and not self.days else peak.at

    @property
    def last_count(self) -> int:
        return self.opening_count if self.last is None else self.last.count

    def raised_by(self, report: CountReport) -> bool:
        """Whether this report's reading is the month's peak."""
        return self.peak == report.reading and report.count > self.opening_count

    def report_result(self, report: CountReport, stored: bool) -> dict:
        """The record-count response: the month's peak and whether this report raised it."""
        return {**self._peak_json(), "raised": stored and self.raised_by(report)}

    def as_json(self, tariff: Tariff, churn_events: Iterable[Flagged] = ()) -> dict:
        """The usage API's body: with the bracket the peak falls in and the month's suspected 洗い替え."""
        bracket = tariff.bracket_of(self.peak.count)
        low, high = tariff.bracket_range(bracket)
        return {
            **self._peak_json(),
            "opening_count": self.opening_count,
            "last_count": self.last_count,
            "last_observed_at": months.iso_tokyo(self.last.at if self.last else None),
            "closed": self.closed,
            "daily": [{"date": day.isoformat(), "high": reading.count} for day, reading in sorted(self.days.items())],
            "bracket": {"index": bracket, "from": low, "to": high},
            "churn_events": [episode.as_json() for episode in churn_events],
            "late_reports": {
                "count": len(self.late),
                "peak": max((reading.count for reading in self.late), default=None),
            },
            "correction_suggested": self.correction_suggested(tariff),
        }

    def _peak_json(self) -> dict:
        return {
            "account_id": self.account_id,
            "month": self.month,
            "peak": self.peak.count,
            "peak_observed_at": months.iso_tokyo(self.peak_observed_at),
        }


# ---------------------------------------------------------------- the opening count
# A month's opening count is the last count standing before it: the peak's floor from 00:00 on the 1st. A close
# carries it over (the next month's usage records it); until then it is told by the months before.


def opening_of_open_months(month: str, open_lasts: Mapping[str, int]) -> int | None:
    """The opening count the account's open months tell, else None.

    ``open_lasts``: each open month's last count (the gate keeps it until the month's close carries it over).
    The latest open month before ``month`` has the last count standing before it."""
    earlier = [other for other in open_lasts if other < month]
    return open_lasts[max(earlier)] if earlier else None


def known_opening(month: str, open_lasts: Mapping[str, int], first_close: bool) -> int | None:
    """The opening count when the open months alone tell it, else None (it was recorded, or the months before
    must be read: ``opening_after``). An account closed for the first time (``first_close``) has no usage before
    but its open months': with none before ``month``, nothing was ever reported, and the opening is 0."""
    opening = opening_of_open_months(month, open_lasts)
    if opening is None and first_close:
        return 0
    return opening


def opening_after(earlier: MonthUsage | None) -> int:
    """The opening count after the latest month before that has usage: its last count (0 if there is none)."""
    return 0 if earlier is None else earlier.last_count
