"""The usage watch's world for counting its AWS calls: accounts with usage alerts on or off, a batch of their
count readings as the BillingTable's stream hands it to UsageWatchFunction, and every call of handling it,
each attributed to the watch that made it (the usage alerts' or the churn watch's).

Shared by ``tests/integration/test_usage_alert_calls.py`` (the bar, checked call by call) and
``benchmarks/usage_alerts.py`` (the figures). Needs moto (``mock_aws``) with the template's resources and
environment, as the integration tests make them.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import ModuleType

from botocore.client import BaseClient

from billing.dal import stores
from billing.usage.counts import CountReport
from tests.factories import account_profile
from tests.integration.stream import Stream

JST = timezone(timedelta(hours=9))
READINGS_PER_ACCOUNT = 5
STEP = 1_000  # each reading 1,000 above the account's last
WATCHES = ("alerts", "churn")


@dataclass(frozen=True)
class Scenario:
    name: str
    usage_alerts: bool  # every account's setting
    first_count: int  # each account reads first_count, + STEP, ... (READINGS_PER_ACCOUNT readings)
    about: str

    @property
    def last_count(self) -> int:
        return self.first_count + STEP * (READINGS_PER_ACCOUNT - 1)


# The tariff's first bracket is 1-10,000; its approaching threshold is 90 % of it (9,000).
QUIET = Scenario("quiet", True, 4_000, "alerts on, every peak rises within the first bracket below 9,000")
CROSSING = Scenario("crossing", True, 8_000, "alerts on, every peak rises from 8,000 to 12,000 (crosses 10,000)")
ALERTS_OFF = Scenario("alerts_off", False, 8_000, "alerts off on every account, the same counts as crossing")
SCENARIOS = (QUIET, CROSSING, ALERTS_OFF)


def seed(prefix: str, accounts: int, scenario: Scenario) -> list[str]:
    """``accounts`` accounts (standard + bridge, web delivery) with the scenario's ``usage_alerts``."""
    ids = [f"{prefix}-{n:03d}" for n in range(accounts)]
    for account_id in ids:
        profile = account_profile("bank_transfer", "web", account_id=account_id, usage_alerts=scenario.usage_alerts)
        stores.accounts().create(profile)
    return ids


def report(account_ids: list[str], scenario: Scenario) -> int:
    """Each account's readings, a day apart in November 2026 at 09:00 (+09:00), one round of all accounts a day,
    recorded as the count API records them (two conditional writes each); the number of readings."""
    readings = 0
    for step in range(READINGS_PER_ACCOUNT):
        observed_at = datetime(2026, 11, 2 + step, 9, 0, tzinfo=JST)
        for account_id in account_ids:
            count = scenario.first_count + step * STEP
            stores.usage().record(CountReport.received(account_id, count, observed_at))
            readings += 1
    return readings


def drain(stream: Stream) -> int:
    """Read the stream up to now without handling it (the accounts' creation, an earlier batch's own writes)."""
    skipped = 0
    while records := stream.batch()["Records"]:
        skipped += len(records)
    return skipped


def _kind(params: dict) -> str:
    """The item kind a DynamoDB call names (its key's or item's sort key up to the first ``#``)."""
    key = params.get("Key") or params.get("Item") or {}
    return key.get("sk", {}).get("S", "").split("#")[0] if isinstance(key, dict) else ""


@contextlib.contextmanager
def counted_by_watch(module: ModuleType):
    """Every botocore call made while the block runs, counted as ``(watch, "service.Operation", kind)``:
    ``watch`` is ``alerts`` inside ``usage_alert_watch().observe``, ``churn`` inside ``churn_watch().observe``,
    ``other`` elsewhere; ``kind`` is the DynamoDB item kind (``PROFILE``, ``USAGE``, ``CHURN_STATE``), or
    empty."""
    calls: Counter = Counter()
    owner = ["other"]
    real = BaseClient._make_api_call
    watches = {"alerts": module.usage_alert_watch(), "churn": module.churn_watch()}

    def make_api_call(client, operation, params):
        service = client.meta.service_model.service_name
        calls[(owner[-1], f"{service}.{operation}", _kind(params) if service == "dynamodb" else "")] += 1
        return real(client, operation, params)

    def attributed(name: str, observe):
        def observe_as(*args, **kwargs):
            owner.append(name)
            try:
                return observe(*args, **kwargs)
            finally:
                owner.pop()

        return observe_as

    for name, watch in watches.items():
        watch.observe = attributed(name, watch.observe)  # on the instance: the class keeps its own
    BaseClient._make_api_call = make_api_call
    try:
        yield calls
    finally:
        BaseClient._make_api_call = real
        for watch in watches.values():
            del watch.observe


def by_watch(calls: Counter, watch: str, with_kind: bool = False) -> Counter:
    """One watch's share of ``counted_by_watch``'s counts, by ``service.Operation`` (and item kind)."""
    found: Counter = Counter()
    for (owner, operation, kind), n in calls.items():
        if owner == watch:
            found[f"{operation} {kind}".strip() if with_kind else operation] += n
    return found


def batch_of(scenario: Scenario, prefix: str, accounts: int, stream: Stream) -> tuple[dict, int]:
    """A fresh world's batch: ``accounts`` new accounts, ``READINGS_PER_ACCOUNT`` readings each, and the stream's
    records of them as UsageWatchFunction is handed them; (the event, the readings)."""
    account_ids = seed(prefix, accounts, scenario)
    drain(stream)
    readings = report(account_ids, scenario)
    return stream.batch(), readings
