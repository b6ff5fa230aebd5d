"""Usage alerts, in plain Python: which alerts a rise of the month's peak sets off.

The fee is set by the month's peak, in the tariff's brackets. A customer hears it the day it happens, not on the
invoice:

- **crossed**: the peak first enters a bracket above the month's opening bracket (the bracket of the opening
  count) and above the bracket it was in. One alert, for the highest bracket entered, however many it jumped.
- **approaching**: the peak first reaches ``approach_ratio`` of the top of its bracket: the next bracket is near
  (the alert names that one, and what it would cost). None for a bracket already crossed into, and none when
  the opening count was already past the threshold (nothing rose through it).

Each alert goes once per account, month, kind and bracket: the store records it with a conditional write
(``Alert.key``) before it is sent, so a replayed or reordered stream sends nothing twice
(``billing.delivery.usage_alerts`` sends them).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from billing.usage.churn import DEFAULT_PATH, ChurnConfigError, ratio_setting
from billing.usage.counts import Reading

DEFAULT_APPROACH_RATIO = Fraction(9, 10)
SETTINGS_TABLE = "usage_alerts"  # the alerts' table in the watch's settings file (config/churn.toml)


class AlertKind(StrEnum):
    APPROACHING = "approaching"
    CROSSED = "crossed"

    @property
    def detail_type(self) -> str:
        """The event each alert is on the invoicing bus."""
        return {AlertKind.APPROACHING: "UsageBracketApproaching", AlertKind.CROSSED: "UsageBracketCrossed"}[self]


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    bracket: int  # 1-based, as ``Tariff.bracket_of``: for crossed, the bracket entered; for approaching, the next
    # bracket, the one that is near

    @property
    def key(self) -> str:
        """Where the alert is recorded, once: one per kind and bracket in the month."""
        return f"alert#{self.kind.value}#{self.bracket}"


class Brackets(Protocol):
    """The tariff's brackets, as the alerts read them (``billing.tariff.Tariff``)."""

    def bracket_of(self, peak: int) -> int: ...

    def bracket_range(self, bracket: int) -> tuple[int, int]: ...


def alerts_for_rise(
    opening: int, before: int, after: int, brackets: Brackets, approach_ratio: Fraction = DEFAULT_APPROACH_RATIO
) -> list[Alert]:
    """The alerts a rise of the month's peak from ``before`` to ``after`` sets off (none for no rise).

    ``before`` is the highest count the month had seen (the opening count stands for it when higher), ``after``
    the highest with the new readings.
    """
    before = max(before, opening)
    if after <= before:
        return []
    found = []
    entered, was_in = brackets.bracket_of(after), brackets.bracket_of(before)
    if entered > max(was_in, brackets.bracket_of(opening)):
        found.append(Alert(AlertKind.CROSSED, entered))
    threshold = approach_ratio * brackets.bracket_range(entered)[1]
    if after >= threshold and (before < threshold or was_in < entered) and opening < threshold:
        found.append(Alert(AlertKind.APPROACHING, entered + 1))
    return found


@functools.cache
def load_approach_ratio(path: Path = DEFAULT_PATH) -> Fraction:
    """``approach_ratio`` from the ``[usage_alerts]`` table beside the churn thresholds (0.9 when not given)."""
    with open(path, "rb") as handle:
        return parse_approach_ratio(tomllib.load(handle).get(SETTINGS_TABLE, {}))


def parse_approach_ratio(raw: dict) -> Fraction:
    unknown = sorted(set(raw) - {"approach_ratio"})
    if unknown:
        raise ChurnConfigError(f"unknown usage_alerts setting(s): {', '.join(unknown)}")
    return ratio_setting(raw, "approach_ratio", DEFAULT_APPROACH_RATIO)


# ---------------------------------------------------------------- the stream's view of a month
@dataclass(frozen=True)
class PeakRise:
    """How one account's month rose, as its usage item's changes in the stream show it.

    ``before`` is the highest day high before (0 for none) and ``after`` the highest after; the opening count is
    known only once the month's usage item records it (the close of the month before seeds it).
    """

    account_id: str
    month: str
    before: int
    after: Reading
    opening: int | None = None

    def then(self, later: PeakRise) -> PeakRise:
        """This rise followed by a later one of the same month: from the first ``before`` to the highest after."""
        after = later.after if later.after.beats_as_high(self.after) else self.after
        opening = self.opening if later.opening is None else later.opening
        return PeakRise(self.account_id, self.month, min(self.before, later.before), after, opening)

    def alerts(self, opening: int, brackets: Brackets, approach_ratio: Fraction) -> list[Alert]:
        return alerts_for_rise(opening, self.before, self.after.count, brackets, approach_ratio)
