"""The running estimate: what a month would be billed if it closed now.

The same charges as the invoice (``fee_lines``) under the month's own terms and tariff, taxed as the invoice is
(once per rate, with the tariff's rounding), so the estimate and the invoice never disagree by a yen.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.contracts.accounts import AccountProfile
from billing.invoicing.invoice import fee_lines, summarise_tax
from billing.tariff import Tariff


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
