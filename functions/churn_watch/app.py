"""Flags suspected 洗い替え (delete every record, then register them again), off the count path.

Triggered by: the BillingTable's stream (NEW_AND_OLD_IMAGES), filtered to
profile MODIFY records: the count gate's ``last#<month>`` changes, which are
each account's readings in ``observed_at`` order. Batches report partial
failures; once a record fails, every later record of the batch fails too, so
an account's readings are never folded out of order. A batch that keeps
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
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from billing.churn import ChurnWatch, load_thresholds
from billing.dal.churn import ChurnStore, readings_changed
from billing.dal.messaging import publish
from billing.observability import logger, metrics, tracer
from billing.settings import settings

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@functools.cache
def watch() -> ChurnWatch:
    return ChurnWatch(
        ChurnStore(settings().table_name),
        announce=lambda detail_type, detail: publish(settings().event_bus_name, detail_type, detail),
        thresholds=load_thresholds(),
    )


class InOrder:
    """One batch's record handler: after the first failure, the rest wait for its retry."""

    def __init__(self):
        self.failed = False

    def __call__(self, record: DynamoDBRecord) -> int:
        if self.failed:
            raise RuntimeError("an earlier record of this batch failed; this one is retried after it")
        try:
            return observe(record)
        except Exception:
            self.failed = True
            raise


def observe(record: DynamoDBRecord) -> int:
    change = readings_changed(record.raw_event)
    if change is None:
        return 0  # a profile change or a month close: no reading
    account_id, readings = change
    found = watch().observe(account_id, readings)
    for episode in found:
        logger.warning("suspected 洗い替え", extra={"account_id": account_id, **episode.as_json()})
    metrics.add_metric(name="ChurnSuspected", unit=MetricUnit.Count, value=len(found))
    return len(found)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return process_partial_response(event, InOrder(), processor, context)
