"""Usage alerts, in plain Python: which alerts a rise of the month's peak sets off.

The fee is set by the month's peak, in brackets of the tariff's ``bracket_size`` records. A customer hears it the
day it happens, not on the invoice:

- **crossed**: the peak first enters a bracket above the month's opening bracket (the bracket of the opening
  count) and above the bracket it was in. One alert, for the highest bracket entered, however many it jumped.
- **approaching**: the peak first reaches ``approach_ratio`` of the top of its bracket: the next bracket is near
  (the alert names that one, and what it would cost). None for a bracket already crossed into, and none when
  the opening count was already past the threshold (nothing rose through it).

Each alert goes once per account, month, kind and bracket: the caller records it with a conditional write
(``Alert.key``), so a replayed or reordered stream sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

DEFAULT_APPROACH_RATIO = Fraction(9, 10)


class AlertKind(StrEnum):
    APPROACHING = "approaching"
    CROSSED = "crossed"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    bracket: int  # 1-based, as ``Tariff.bracket_of``: for crossed, the bracket entered; for approaching, the next
    # bracket, the one that is near

    @property
    def key(self) -> str:
        """Where the alert is recorded, once: one per kind and bracket in the month."""
        return f"alert#{self.kind.value}#{self.bracket}"


@dataclass(frozen=True)
class Brackets:
    """The tariff's brackets as the alerts need them."""

    size: int

    def of(self, count: int) -> int:
        return max(1, -(-count // self.size))

    def top(self, bracket: int) -> int:
        return bracket * self.size


def alerts_for_rise(
    opening: int, before: int, after: int, brackets: Brackets, approach_ratio: Fraction = DEFAULT_APPROACH_RATIO
) -> list[Alert]:
    """The alerts a rise of the month's peak from ``before`` to ``after`` sets off (none for no rise).

    ``before`` is the peak as it stood (at least the opening count), ``after`` the peak with the new reading.
    """
    before = max(before, opening)
    if after <= before:
        return []
    found = []
    entered, was_in = brackets.of(after), brackets.of(before)
    if entered > max(was_in, brackets.of(opening)):
        found.append(Alert(AlertKind.CROSSED, entered))
    threshold = approach_ratio * brackets.top(entered)
    if after >= threshold and (before < threshold or was_in < entered) and opening < threshold:
        found.append(Alert(AlertKind.APPROACHING, entered + 1))
    return found
