"""Leases: the one way this project claims a piece of work that must happen once.

A lease is two attributes on the item the work belongs to: ``<name>_lease`` (its
holder's token) and ``<name>_lease_until`` (when it lapses). The work's own
"done" attribute ends it. Taking a lease is one conditional update that
succeeds only when the work is not done and no live lease exists.

* The holder that fails **releases** its lease (only its own: the condition
  names its token), so the platform's retry does the work at once.
* A holder that dies cannot release it; the lease **lapses** after ``ttl``.
  Choose ``ttl`` longer than the holder's function can run (so two holders
  never overlap) and shorter than the event source's retry span.
* A caller that finds a live lease held by someone else gets ``LeaseBusy``: it
  must fail, so that its event is redelivered later, never succeed without
  the work having been done.
* ``finish`` writes the work's result and ends the lease in one update, on
  condition that the caller still holds it.

The remaining window is the one no lease can close: a holder that dies after
an outside effect (an email) succeeded and before ``finish`` recorded it. The
work is then done again after the lease lapses, carrying the same identity
(``Lease.work_id``), so the duplicate can be recognised downstream.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from billing.dal.conditional import update_if

FINISH_ATTEMPTS = 3


def now() -> datetime:
    return datetime.now(UTC)


class LeaseBusy(RuntimeError):
    """Someone else holds a live lease on this work: fail now, so the event comes back after it lapses."""


class Unmet(RuntimeError):
    """The item did not meet the condition the lease was taken with."""

    def __init__(self, item: dict):
        super().__init__("the item does not meet the lease's condition")
        self.item = item


@dataclass(frozen=True)
class Also:
    """What else a lease's write checks and sets: ``condition`` (with its ``values`` and ``names``), which
    ``met`` tells from the item as it stood, and attributes to set where absent."""

    condition: str = ""
    values: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)
    met: Callable[[dict], bool] = lambda item: True
    set_if_absent: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lease:
    key: dict
    name: str
    token: str
    work_id: str  # stable across holders: the same work always has the same id


@dataclass(frozen=True)
class Work:
    """A kind of work done once per item: its lease's name, its done marker and how long a lease lasts."""

    name: str
    done_attribute: str
    ttl: timedelta

    def take(self, client, table: str, key: dict, work_id: str, also: Also | None = None) -> Lease | None:
        """The lease on this item's work, or None when the work is done. Raises LeaseBusy.

        ``also``: a condition the item must meet as well (else ``Unmet``, with the item as it stood) and
        attributes to set where absent, in the same write.
        """
        at = now()
        token = uuid.uuid4().hex
        also = also or Also()
        extra = "".join(f", {name} = if_not_exists({name}, :also_{name})" for name in sorted(also.set_if_absent))
        condition = (
            f"attribute_not_exists({self.done_attribute})"
            f" AND (attribute_not_exists({self.name}_lease_until) OR {self.name}_lease_until < :now)"
        )
        taken, before = update_if(
            client,
            table,
            key,
            f"SET {self.name}_lease = :token, {self.name}_lease_until = :until{extra}",
            f"{also.condition} AND {condition}" if also.condition else condition,
            {
                ":token": token,
                ":until": (at + self.ttl).isoformat(),
                ":now": at.isoformat(),
                **{f":also_{name}": value for name, value in also.set_if_absent.items()},
                **also.values,
            },
            also.names or None,
        )
        if taken:
            return Lease(key, self.name, token, work_id)
        if also.condition and not also.met(before):
            raise Unmet(before)
        if self.done_attribute in before:
            return None
        raise LeaseBusy(f"{self.name} of {key} is held until {before.get(f'{self.name}_lease_until')}")

    def release(self, client, table: str, lease: Lease) -> None:
        """Give the work back after a failure, so the retry does it at once."""
        update_if(
            client,
            table,
            lease.key,
            f"REMOVE {self.name}_lease, {self.name}_lease_until",
            f"{self.name}_lease = :token",
            {":token": lease.token},
        )

    def finish(self, client, table: str, lease: Lease, result: dict, remove: tuple[str, ...] = ()) -> bool:
        """Record the work as done (``result`` names its attributes, the done marker among them), removing the
        attributes ``remove`` names in the same write.

        The work has happened by now, so recording it is tried harder than other
        writes (FINISH_ATTEMPTS times, each with the SDK's own retries): a
        failure here would have the work done again once the lease lapses.
        """
        assert self.done_attribute in result, f"{self.name}: the result must set {self.done_attribute}"
        names = sorted(result)
        update = (
            "SET "
            + ", ".join(f"{n} = :{n}" for n in names)
            + f" REMOVE {self.name}_lease, {self.name}_lease_until"
            + "".join(f", {n}" for n in remove)
        )
        values = {":token": lease.token, **{f":{n}": result[n] for n in names}}

        def record() -> bool:
            return update_if(client, table, lease.key, update, f"{self.name}_lease = :token", values)[0]

        for _ in range(FINISH_ATTEMPTS - 1):
            with contextlib.suppress(Exception):
                return record()
        return record()
