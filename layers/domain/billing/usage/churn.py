"""洗い替え (churn): suspected "delete every record, then register them again" episodes.

Billing never depends on this; it only flags episodes for operators. The
thresholds ship with the tariff (``config/churn.toml``). In an account's
readings taken in ``observed_at`` order, an episode is

* a count A (the running high),
* then a later count B with B <= A x (1 - drop_ratio) and A - B >= min_records
  (the drop),
* then a count C observed at most ``window_hours`` after B with
  C >= A x recover_ratio (the recovery).

``fold`` takes one reading at a time and keeps what it needs in a small
``ChurnState`` (the latest reading, A, and a pending B), so a stream consumer
can run it without reading the account's history:

* A is the highest count since the state began, since the last episode, or
  since a drop that stood longer than the window (the account really shrank);
* B is the latest reading that counts as a drop against A, so the window
  runs from the last low count;
* a reading no later than the latest one folded in is a duplicate or arrived
  out of order: it changes nothing, so redelivered readings are harmless.

Ratios are exact fractions of the decimals in the file (0.9 is 9/10), so a
count exactly at a threshold is never lost to float rounding.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from billing import months
from billing.usage.counts import Reading

DEFAULT_PATH = Path(__file__).parents[1] / "config" / "churn.toml"
MICROS_PER_HOUR = 3_600_000_000
CHURN_SUSPECTED = "ChurnSuspected"


class ChurnConfigError(ValueError):
    """The churn thresholds are unusable; the message names the field."""


@dataclass(frozen=True)
class ChurnThresholds:
    drop_ratio: Fraction = Fraction(1, 2)
    recover_ratio: Fraction = Fraction(9, 10)
    window_hours: int = 72
    min_records: int = 1000

    @property
    def window_micros(self) -> int:
        return self.window_hours * MICROS_PER_HOUR

    def is_drop(self, high: int, count: int) -> bool:
        """B against A: at most A x (1 - drop_ratio), and at least min_records fewer."""
        return count <= high * (1 - self.drop_ratio) and high - count >= self.min_records

    def is_recovery(self, high: int, count: int) -> bool:
        return count >= high * self.recover_ratio


@functools.cache
def load_thresholds(path: Path = DEFAULT_PATH) -> ChurnThresholds:
    with open(path, "rb") as handle:
        return parse_thresholds(tomllib.load(handle))


def parse_thresholds(raw: dict) -> ChurnThresholds:
    """The thresholds from the settings file; its ``[usage_alerts]`` table is the alerts' (``billing.usage.alerts``)."""
    unknown = sorted(set(raw) - {"drop_ratio", "recover_ratio", "window_hours", "min_records", "usage_alerts"})
    if unknown:
        raise ChurnConfigError(f"unknown churn setting(s): {', '.join(unknown)}")
    defaults = ChurnThresholds()
    return ChurnThresholds(
        drop_ratio=ratio_setting(raw, "drop_ratio", defaults.drop_ratio),
        recover_ratio=ratio_setting(raw, "recover_ratio", defaults.recover_ratio),
        window_hours=_whole(raw, "window_hours", defaults.window_hours),
        min_records=_whole(raw, "min_records", defaults.min_records),
    )


def ratio_setting(raw: dict, name: str, default: Fraction) -> Fraction:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise ChurnConfigError(f"{name} must be a number between 0 and 1, got {value!r}")
    ratio = Fraction(str(value)) if isinstance(value, float) else Fraction(value)  # "0.9" is exactly 9/10
    if not 0 < ratio <= 1:
        raise ChurnConfigError(f"{name} must be more than 0 and at most 1, got {value!r}")
    return ratio


def _whole(raw: dict, name: str, default: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ChurnConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
    return value


@dataclass(frozen=True)
class ChurnEpisode:
    """One suspected 洗い替え: the high A, the drop B and the recovery C."""

    account_id: str
    high: Reading
    drop: Reading
    recovery: Reading

    @property
    def month(self) -> str:
        """Episodes belong to the Tokyo month of the drop."""
        return months.month_of(months.from_micros(self.drop.at))

    @property
    def dropped_at(self) -> str:
        return months.iso_tokyo(self.drop.at)

    def as_json(self) -> dict:
        return {
            "dropped_at": self.dropped_at,
            "from": self.high.count,
            "to": self.drop.count,
            "recovered_at": months.iso_tokyo(self.recovery.at),
            "back_to": self.recovery.count,
        }

    def announcement(self) -> dict:
        """The ChurnSuspected detail; ``episode_id`` is stable, so a consumer can drop a repeat."""
        return {
            "episode_id": f"{self.account_id}#{self.drop.at}",
            "account_id": self.account_id,
            "month": self.month,
            **self.as_json(),
        }


@dataclass(frozen=True)
class ChurnState:
    """What detection remembers of one account between readings."""

    account_id: str
    last: Reading | None = None  # the latest reading folded in
    high: Reading | None = None  # A
    drop: Reading | None = None  # B, while a recovery may still come

    def fold(self, reading: Reading, thresholds: ChurnThresholds) -> tuple[ChurnState, ChurnEpisode | None]:
        """This state with one more reading, and the episode the reading completes (if any)."""
        if not reading.beats_as_last(self.last):
            return self, None  # a repeat, or a reading that arrived after a later one
        high, drop = self.high, self.drop
        in_window = drop is not None and reading.at - drop.at <= thresholds.window_micros
        if in_window and thresholds.is_recovery(high.count, reading.count):
            episode = ChurnEpisode(self.account_id, high, drop, reading)
            return ChurnState(self.account_id, last=reading, high=reading), episode
        if high is not None and thresholds.is_drop(high.count, reading.count):
            return replace(self, last=reading, drop=reading), None
        if drop is not None and not in_window:  # the drop stood: the account really shrank
            return ChurnState(self.account_id, last=reading, high=reading), None
        if drop is None and (high is None or reading.count > high.count):
            high = reading
        return replace(self, last=reading, high=high), None


def episodes_in(
    account_id: str, readings: list[Reading], thresholds: ChurnThresholds, state: ChurnState | None = None
) -> tuple[ChurnState, list[ChurnEpisode]]:
    """Fold readings in the order given: the final state and every episode they complete."""
    state = state or ChurnState(account_id)
    found = []
    for reading in readings:
        state, episode = state.fold(reading, thresholds)
        if episode:
            found.append(episode)
    return state, found


class ChurnStore(Protocol):
    def state(self, account_id: str) -> ChurnState: ...

    def save_state(self, before: ChurnState, after: ChurnState) -> bool: ...

    def keep(self, episode: ChurnEpisode) -> bool: ...

    def mark_announced(self, episode: ChurnEpisode) -> None: ...


class ChurnWatch:
    """Folds an account's new readings into its stored state, recording and announcing each episode once.

    Crash safety comes from the order of the steps: the episode is stored
    (put if absent), announced, marked announced, and only then is the state
    advanced past the reading. A crash before the state moves re-runs the
    reading, which finds the same episode again: storing it is a no-op, and it
    is announced again only if the crash came between publishing and marking,
    so a ChurnSuspected consumer must tolerate a repeat (same ``episode_id``).
    """

    def __init__(
        self, store: ChurnStore, announce: Callable[[str, dict], None], thresholds: ChurnThresholds, attempts: int = 5
    ):
        self.store = store
        self.announce = announce
        self.thresholds = thresholds
        self.attempts = attempts

    def observe(self, account_id: str, readings: list[Reading]) -> list[ChurnEpisode]:
        """The episodes these readings complete (each recorded and announced once)."""
        for _ in range(self.attempts):
            before = self.store.state(account_id)
            after, found = episodes_in(account_id, readings, self.thresholds, before)
            if after == before:
                return []  # every reading was already folded in (a redelivery)
            for episode in found:
                if not self.store.keep(episode):
                    self.announce(CHURN_SUSPECTED, episode.announcement())
                    self.store.mark_announced(episode)
            if self.store.save_state(before, after):
                return found
        raise RuntimeError(f"the churn state of {account_id} kept changing under {self.attempts} attempts")
