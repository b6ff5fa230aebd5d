"""Watches the count stream, off the count path: suspected 洗い替え, and the customer's usage alerts.

Triggered by: the BillingTable's stream (NEW_AND_OLD_IMAGES), filtered to two kinds of change:
- profile MODIFY records: the count gate's ``last#<month>`` changes, which are each account's readings in
  ``observed_at`` order (churn);
- usage items (``USAGE#<month>``), INSERT and MODIFY: their day highs, whose rise is the rise of the month's peak
  in whatever order the reports came (usage alerts).

Each account's records of a batch are folded together; a failure reports the account's first record, and the
stream retries from there, so nothing is folded out of order. A batch that keeps failing goes to
UsageWatchDeadLetterQueue. A count report still costs its two writes and no read: all of this is the stream's.
Reads: the account's CHURN_STATE item and the thresholds (config/churn.toml); for a rise that may set off an
alert, the account's profile (and a Query only when the month's opening count was never recorded).
Writes: CHURN_STATE (only if unchanged since read), each episode once (``CHURN#<month>``); each alert once, on
the month's usage item (``alert#<kind>#<bracket>``), marked when sent.
Emits: ``ChurnSuspected``, ``UsageBracketCrossed`` and ``UsageBracketApproaching`` on the invoicing bus; the
alert's email (SES) to the billing contact; the ChurnSuspected and UsageAlertsSent metrics.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from billing.dal.churn import readings_changed
from billing.dal.usage_alerts import peak_rise
from billing.observability import logger, metrics, tracer
from billing.usage.alerts import PeakRise
from billing.usage_watch_wiring import churn_watch, usage_alert_watch


def observe_batch(records: list[dict]) -> dict:
    """Fold each account's records of the batch at once: one churn state read and write per account, and one
    rise per account and month, not one per record.

    On a failure the batch reports the first record of that account as failed, and the stream hands back
    everything from there (a stream retries from the lowest failed sequence number): nothing is folded out of
    order, and what was folded already is a no-op the second time.
    """
    readings: dict[str, list] = {}
    rises: dict[tuple[str, str], PeakRise] = {}
    first_record: dict[str, str] = {}
    for record in records:
        change, rise = readings_changed(record), peak_rise(record)
        if change is None and rise is None:
            continue  # another change of a profile or a usage item: nothing to watch
        if change is not None:
            readings.setdefault(change[0], []).extend(change[1])
        if rise is not None:
            month = (rise.account_id, rise.month)
            rises[month] = rises[month].then(rise) if month in rises else rise
        first_record.setdefault(change[0] if change else rise.account_id, record["dynamodb"]["SequenceNumber"])
    failed = [first_record[account_id] for account_id in _watch_churn(readings) | _watch_usage(rises)]
    lowest = min(failed, key=int) if failed else None
    return {"batchItemFailures": [{"itemIdentifier": lowest}] if lowest else []}


def _watch_churn(readings: dict[str, list]) -> set[str]:
    """The accounts whose readings failed."""
    failed = set()
    for account_id, account_readings in readings.items():
        try:
            found = churn_watch().observe(account_id, account_readings)
        except Exception:
            logger.exception("churn watch failed", extra={"account_id": account_id})
            failed.add(account_id)
            continue
        for episode in found:
            logger.warning("suspected 洗い替え", extra={"account_id": account_id, **episode.as_json()})
        metrics.add_metric(name="ChurnSuspected", unit=MetricUnit.Count, value=len(found))
    return failed


def _watch_usage(rises: dict[tuple[str, str], PeakRise]) -> set[str]:
    """The accounts whose alerts failed."""
    failed = set()
    for rise in rises.values():
        try:
            sent = usage_alert_watch().observe(rise)
        except Exception:
            logger.exception("usage alerts failed", extra={"account_id": rise.account_id, "month": rise.month})
            failed.add(rise.account_id)
            continue
        for alert in sent:
            logger.info(
                "usage alert sent", extra={"account_id": rise.account_id, "month": rise.month, "alert": alert.key}
            )
        metrics.add_metric(name="UsageAlertsSent", unit=MetricUnit.Count, value=len(sent))
    return failed


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return observe_batch(event.get("Records", []))
