"""Flags suspected 洗い替え (delete every record, then register them again), off the count path.

Triggered by: the BillingTable's stream (NEW_AND_OLD_IMAGES), filtered to
profile MODIFY records: the count gate's ``last#<month>`` changes, which are
each account's readings in ``observed_at`` order. Each account's readings of
a batch are folded together; a failure reports the account's first record,
and the stream retries from there, so readings are never folded out of order. A batch that keeps
failing goes to ChurnWatchDeadLetterQueue.
Reads: the account's CHURN_STATE item and the churn thresholds (config/churn.toml).
Writes: CHURN_STATE (only if unchanged since read) and each episode once
(``CHURN#<month>``), marked once announced.
Emits: ``ChurnSuspected`` on the invoicing bus (at least once per episode), the
ChurnSuspected metric.
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.metrics import MetricUnit

from billing.dal import stores
from billing.dal.churn import readings_changed
from billing.dal.messaging import publish
from billing.observability import logger, metrics, tracer
from billing.settings import settings
from billing.usage.churn import ChurnWatch, load_thresholds


@functools.cache
def watch() -> ChurnWatch:
    return ChurnWatch(
        stores.churn(),
        announce=lambda detail_type, detail: publish(settings().event_bus_name, detail_type, detail),
        thresholds=load_thresholds(),
    )


def observe_batch(records: list[dict]) -> dict:
    """Fold each account's readings of the batch at once: one state read and write per account, not per record.

    On a failure the batch reports the first record of that account as failed, and the stream hands back
    everything from there (a stream retries from the lowest failed sequence number): readings are never
    folded out of order, and those folded already are a no-op the second time.
    """
    by_account: dict[str, list] = {}
    first_record: dict[str, str] = {}
    for record in records:
        change = readings_changed(record)
        if change is None:
            continue  # a profile change or a month close: no reading
        account_id, readings = change
        by_account.setdefault(account_id, []).extend(readings)
        first_record.setdefault(account_id, record["dynamodb"]["SequenceNumber"])
    failed = []
    for account_id, readings in by_account.items():
        try:
            found = watch().observe(account_id, readings)
        except Exception:
            logger.exception("churn watch failed", extra={"account_id": account_id})
            failed.append(first_record[account_id])
            continue
        for episode in found:
            logger.warning("suspected 洗い替え", extra={"account_id": account_id, **episode.as_json()})
        metrics.add_metric(name="ChurnSuspected", unit=MetricUnit.Count, value=len(found))
    lowest = min(failed, key=int) if failed else None
    return {"batchItemFailures": [{"itemIdentifier": lowest}] if lowest else []}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return observe_batch(event.get("Records", []))
