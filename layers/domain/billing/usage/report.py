"""A month's usage as its readers see it: the peak and its bracket, what the month would be billed if it closed
now (the running estimate) and the alerts sent about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.contracts.accounts import AccountProfile
from billing.invoicing.estimate import Estimate, estimate
from billing.tariff import Tariff
from billing.usage.counts import Flagged, MonthUsage


@dataclass(frozen=True)
class MonthReport:
    usage: MonthUsage
    terms: AccountProfile  # in force for the month: a plan changed from next month still bills this one as it was
    alerts: tuple[dict, ...] = ()  # ``{"kind", "bracket", "sent_at"}``, as sent

    def estimate(self, tariff: Tariff) -> Estimate:
        return estimate(self.terms, self.usage.month, self.usage.peak.count, tariff)

    def as_json(self, tariff: Tariff, churn_events: Iterable[Flagged] = ()) -> dict:
        """The platform's usage API: the month whole, with its estimate and alerts."""
        return {
            **self.usage.as_json(tariff, churn_events),
            "estimate": self.estimate(tariff).as_json(),
            "alerts": list(self.alerts),
        }

    def current_json(self, tariff: Tariff) -> dict:
        """The customer's month so far: the peak, its bracket, the estimate and the daily highs."""
        body = self.usage.as_json(tariff)
        return {
            "month": self.usage.month,
            "peak": body["peak"],
            "peak_observed_at": body["peak_observed_at"],
            "bracket": body["bracket"],
            "estimate": self.estimate(tariff).as_json(),
            "daily": body["daily"],
        }
