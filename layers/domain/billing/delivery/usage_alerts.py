"""Sending usage alerts: each alert a rise of the month's peak sets off, once, to an account that wants it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from billing import months
from billing.contracts.accounts import AccountProfile
from billing.usage.alerts import DEFAULT_APPROACH_RATIO, Alert, Brackets, PeakRise


@dataclass(frozen=True)
class AlertedAccount:
    """What the watch reads of an account, once, when a rise may set off an alert."""

    terms: AccountProfile  # in force for the month: the fee, the contact, ``usage_alerts``, the contract's end
    opening: int  # the month's opening count

    def wants(self, rise: PeakRise) -> bool:
        """Alerts are on, and the reading falls within the contract (none after its end)."""
        end = self.terms.contract_end
        return self.terms.usage_alerts and (end is None or months.day_of(months.from_micros(rise.after.at)) <= end)


class UsageAlertStore(Protocol):
    def account(self, rise: PeakRise) -> AlertedAccount | None: ...

    def claim(self, rise: PeakRise, alert: Alert) -> bool: ...

    def mark_sent(self, rise: PeakRise, alert: Alert) -> None: ...


class UsageAlertWatch:
    """Sends the alerts a rise sets off, each once.

    Crash safety comes from the order of the steps: the alert is claimed (a conditional write on the month's
    usage item, refused for an alert claimed already or a bracket already crossed into), sent (the event, then
    the email), then marked sent. A claim that was never marked sent (a crash, or a refused send that failed the
    batch) is sent again when the stream hands the rise back; only a crash between sending and marking can send
    one twice.

    Most readings set off nothing: that is decided from the stream record alone, with no read. Only a rise that
    may set off an alert reads the account (``UsageAlertStore.account``).
    """

    def __init__(
        self,
        store: UsageAlertStore,
        brackets: Brackets,
        send: Callable[[PeakRise, AlertedAccount, Alert], None],
        approach_ratio: Fraction = DEFAULT_APPROACH_RATIO,
    ):
        self.store = store
        self.brackets = brackets
        self.send = send
        self.approach_ratio = approach_ratio

    def observe(self, rise: PeakRise) -> list[Alert]:
        """The alerts this rise sent."""
        # An unknown opening counts as 0, which sets off every alert a higher one would: a superset, to rule out.
        if not rise.alerts(rise.opening or 0, self.brackets, self.approach_ratio):
            return []
        account = self.store.account(rise)
        if account is None or not account.wants(rise):
            return []
        sent = []
        for alert in rise.alerts(account.opening, self.brackets, self.approach_ratio):
            if self.store.claim(rise, alert):
                self.send(rise, account, alert)
                self.store.mark_sent(rise, alert)
                sent.append(alert)
        return sent
