"""The running estimate: what a month would be billed if it closed now, and the month as its readers see it.

The same charges as the invoice (``fee_lines``) under the month's own terms and tariff, taxed as the invoice is
(once per rate, with the tariff's rounding), so the estimate and the invoice never disagree by a yen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.contracts.accounts import AccountProfile
from billing.invoicing.invoice import fee_lines, summarise_tax
from billing.tariff import Tariff
from billing.usage.counts import Flagged, MonthUsage


@dataclass(frozen=True)
class Estimate:
    subtotal: int
    tax: int

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    def as_json(self) -> dict:
        return {"subtotal": self.subtotal, "tax": self.tax, "total": self.total}


def estimate(terms: AccountProfile, month: str, peak: int, tariff: Tariff) -> Estimate:
    """The month's bill at ``peak`` under ``terms`` (the terms in force for ``month``)."""
    summary = summarise_tax(fee_lines(terms, month, peak, tariff), tariff.rounding)
    return Estimate(sum(rate.subtotal for rate in summary), sum(rate.tax for rate in summary))


@dataclass(frozen=True)
class MonthReport:
    """A month's usage with its terms: the peak and its bracket, the estimate, and the alerts sent about it."""

    usage: MonthUsage
    terms: AccountProfile  # in force for the month: a plan changed from next month still bills this one as it was
    alerts: tuple[dict, ...] = ()  # ``{"kind", "bracket", "sent_at"}``, as sent

    def estimate(self, tariff: Tariff) -> Estimate:
        """Nothing for a month the contract does not cover (before its start, after its end): the close bills
        none."""
        if not self.terms.is_active_in(self.usage.month):
            return Estimate(0, 0)
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
