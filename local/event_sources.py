"""The template's non-HTTP triggers, run locally: SQS and DynamoDB stream consumers, and scheduled functions.

**SQS** (``Type: SQS`` events): like Lambda's event source mapping, a poller
per queue (several for ``ScalingConfig.MaximumConcurrency``) long-polls the
queue on the AWS endpoint, hands up to ``BatchSize`` messages to the function
as one ``{"Records": [...]}`` event, and deletes the messages it handled. With
``FunctionResponseTypes: [ReportBatchItemFailures]`` only the messages named
in ``batchItemFailures`` stay; without it, or when the function fails, the
whole batch stays. Failed messages come back after a few seconds rather than
after the queue's visibility timeout, so a local retry or a redrive to the
dead-letter queue (which the endpoint applies from ``RedrivePolicy``) takes
seconds, not hours.

**EventBridge rules** (``Type: EventBridgeRule`` / ``CloudWatchEvent``): the
rule is created on its bus on the AWS endpoint with a local *shadow queue* as
its target; a ``RulePoller`` hands each event on that queue to the function,
one at a time, as EventBridge invokes Lambda asynchronously. A failed event is
retried as Lambda retries an asynchronous invocation: after about 1 minute,
then 2 more, as many times as the function's ``EventInvokeConfig`` allows
(``local.retry_bounds``). ``up --async-retry-scale`` shortens the delays for
tests, never below what keeps a lease's ttl shorter than the retry span. Once
the retries are spent, the event goes to the function's ``OnFailure``
destination as Lambda's invocation record (``requestPayload`` holds the
event), or else to the rule's ``DeadLetterConfig`` queue as the event itself.

**DynamoDB streams** (``Type: DynamoDB`` events): a ``StreamPoller`` per
event reads the table's stream on the AWS endpoint (DescribeStream,
GetShardIterator, GetRecords), drops the records that no ``FilterCriteria``
pattern matches (exact values, ``prefix`` and nested keys; a pattern with another
operator is let through with a warning, for the handler to filter), and hands
up to ``BatchSize`` records to the function as a ``{"Records": [...]}`` event
shaped like Lambda's. It checkpoints per shard, in memory: after a batch the
shard resumes after its last record; with ``ReportBatchItemFailures`` it
resumes at the first failed ``itemIdentifier`` (the sequence number), and a
failed invocation retries the whole batch. After ``MaximumRetryAttempts``
(at most 10 locally, a second or so apart) the batch's description goes to
``DestinationConfig.OnFailure`` when it names a queue, and the shard moves on.

**Schedules** (``Type: Schedule`` / ``ScheduleV2``): the calendar ones are
not run by a clock locally. ``close_month`` (``python -m local close-month``)
invokes the monthly one with ``{"month": …}``, ``print_run`` (``python -m
local print-run``) the daily print run with ``{"date": …}`` and ``run_schedule``
(``python -m local reminders``) one named schedule as on a day; each waits until every
consumed queue is empty, i.e. until the work it fanned out is done. A
``rate(…)`` schedule (the delivery sweep) runs on the clock while ``up``
serves (``ScheduleClock``, first after one period, as the Scheduler does), and
``sweep`` (``python -m local sweep``) runs it now and waits likewise.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.resources import BUCKET, QUEUE, TABLE
from local.retry_bounds import LAMBDA_ASYNC_DELAYS_S, async_retry_delays, scaled_delays
from local.runtime import MAX_CONTAINERS, Invocation
from local.template import FunctionSpec, Physical, Resolver, TemplateError

log = logging.getLogger("local.events")

LONG_POLL_S = 1  # short enough that stopping the stack is prompt
MAX_RETRY_DELAY_S = 10
# Lambda's poller leaves a received message invisible for the queue's VisibilityTimeout (360 s for
# IssueInvoiceQueue). Locally a message is held for HELD_S and the hold is renewed while its function
# runs, so when `up` is killed, the messages it had taken are back within HELD_S, not six minutes later,
# and a restarted `up` finishes the close promptly. Delivery stays at least once, as in the cloud.
HELD_S = 20


@dataclass(frozen=True)
class SqsSource:
    """One ``Type: SQS`` event of one function."""

    function: str
    event: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool
    concurrency: int


def queue_by_arn(physical: dict[str, Physical], arn: str) -> Physical:
    for item in physical.values():
        if item.type == QUEUE and item.attributes.get("Arn") == arn:
            return item
    raise TemplateError(f"no queue of this template has the ARN {arn}")


def sqs_sources(functions: dict[str, FunctionSpec], resolver: Resolver) -> list[SqsSource]:
    sources = []
    for spec in functions.values():
        for event in spec.events_of("SQS"):
            props = resolver.resolve(event.properties)
            if str(props.get("Enabled", True)).lower() == "false":
                continue
            queue = queue_by_arn(resolver.physical, props["Queue"])
            if props.get("FilterCriteria"):
                log.warning("%s event %s: FilterCriteria is not applied locally", spec.logical_id, event.name)
            fifo = queue.attributes["QueueName"].endswith(".fifo")
            maximum = int((props.get("ScalingConfig") or {}).get("MaximumConcurrency", 2))
            sources.append(
                SqsSource(
                    function=spec.logical_id,
                    event=event.name,
                    queue_url=queue.ref,
                    queue_arn=queue.attributes["Arn"],
                    batch_size=int(props.get("BatchSize", 10)),
                    report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    concurrency=1 if fifo else max(1, min(maximum, 4)),
                )
            )
    return sources


def sqs_record(message: dict, source: SqsSource, region: str) -> dict:
    """One record of a Lambda SQS event, from one ReceiveMessage message."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        attribute = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            attribute["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        attributes[name] = attribute
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes") or {},
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }


def failed_ids(source: SqsSource, invocation: Invocation, batch_ids: list[str]) -> set[str]:
    """Which messages stay on the queue, by Lambda's rules for partial batch responses."""
    if not invocation.ok:
        return set(batch_ids)
    if not source.report_failures:
        return set()
    result = invocation.result
    if result is None or result == {}:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else "invalid"
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    ids = {failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures}
    if not ids <= set(batch_ids):  # an unknown or empty identifier fails the whole batch
        return set(batch_ids)
    return ids


class SqsPoller:
    """One poller of one SQS event source; ``concurrency`` of them run per source."""

    def __init__(
        self,
        source: SqsSource | RuleSource,
        sqs: Any,
        invoke: Callable[[str, Any], Invocation],
        region: str,
        stopping: threading.Event,
        ready: Callable[[str], bool] | None = None,
    ):
        self.source = source
        self.sqs = sqs
        self.invoke = invoke
        self.region = region
        self.stopping = stopping
        self.ready = ready

    def run(self) -> None:
        # Take no message before the function can run it: a failed cold start would cost the message a receive.
        if self.ready is not None and not self.ready(self.source.function):
            return
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stopping.is_set():
                    return
                log.exception("polling %s for %s failed; retrying", self.source.queue_url, self.source.function)
                self.stopping.wait(1)

    def poll_once(self) -> int:
        messages = self._receive(LONG_POLL_S, min(self.source.batch_size, 10))
        while messages and len(messages) < self.source.batch_size and not self.stopping.is_set():
            more = self._receive(0, min(self.source.batch_size - len(messages), 10))
            if not more:
                break
            messages += more
        if messages:
            self.handle(messages)
        return len(messages)

    def handle(self, messages: list[dict]) -> None:
        """One batch to the function; delete what it handled, retry the rest soon."""
        records = [sqs_record(message, self.source, self.region) for message in messages]
        invocation = self._holding(messages, lambda: self.invoke(self.source.function, {"Records": records}))
        ids = [record["messageId"] for record in records]
        failed = failed_ids(self.source, invocation, ids)
        if not invocation.ok:
            error = invocation.error or {}
            log.error(
                "%s failed on a batch of %d from %s: %s: %s",
                self.source.function,
                len(ids),
                self.source.event,
                error.get("errorType"),
                error.get("errorMessage"),
            )
        self._delete([message for message in messages if message["MessageId"] not in failed])
        for message in messages:
            if message["MessageId"] in failed:
                self._retry_soon(message)

    def _delete(self, messages: list[dict]) -> None:
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)

    def _holding(self, messages: list[dict], call: Callable[[], Invocation]) -> Invocation:
        """Run ``call`` while renewing the messages' hold every third of ``HELD_S``."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(HELD_S / 3):
                for start in range(0, len(messages), 10):
                    entries = [
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": HELD_S}
                        for index, message in enumerate(messages[start : start + 10])
                    ]
                    try:
                        self.sqs.change_message_visibility_batch(QueueUrl=self.source.queue_url, Entries=entries)
                    except Exception:  # the endpoint is going away with the stack; the message comes back anyway
                        log.debug("renewing the hold on %s failed", self.source.queue_url, exc_info=True)

        renewer = threading.Thread(target=renew, name=f"hold-{self.source.function}", daemon=True)
        renewer.start()
        try:
            return call()
        finally:
            done.set()
            renewer.join()

    def _retry_soon(self, message: dict) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.source.queue_url,
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=min(2 * _receives(message), MAX_RETRY_DELAY_S),
        )

    def _receive(self, wait_s: int, count: int) -> list[dict]:
        response = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            VisibilityTimeout=HELD_S,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])


def _receives(message: dict) -> int:
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))


# ------------------------------------------------------------------ EventBridge rules


@dataclass(frozen=True)
class RuleSource:
    """One ``Type: EventBridgeRule`` (or ``CloudWatchEvent``) event: a rule whose target is a local shadow queue."""

    function: str
    event: str
    rule: str
    bus: str
    queue_url: str
    queue_arn: str
    dead_letter_url: str | None
    retry_delays_s: tuple[float, ...] = tuple(float(d) for d in LAMBDA_ASYNC_DELAYS_S)  # before each retry
    on_failure_url: str | None = None  # the function's EventInvokeConfig OnFailure queue
    batch_size: int = 10
    concurrency: int = MAX_CONTAINERS  # one poller per container the function may have

    @property
    def attempts(self) -> int:
        return 1 + len(self.retry_delays_s)


def create_rule_sources(
    functions: dict[str, FunctionSpec],
    resolver: Resolver,
    client: Callable[[str], Any],
    stack_name: str,
    retry_scale: float = 1.0,
) -> list[RuleSource]:
    """Create each event rule on its bus, targeting a new shadow queue that a ``RulePoller`` consumes.

    Its retries wait as Lambda's asynchronous retries do, times ``retry_scale``.
    """
    sources = []
    for spec in functions.values():
        for event in spec.events_of("EventBridgeRule", "CloudWatchEvent"):
            props = resolver.resolve(event.properties)
            if str(props.get("State", "ENABLED")).upper() != "ENABLED":
                continue
            for unsupported in ("Input", "InputPath", "InputTransformer", "Target"):
                if unsupported in props:
                    log.warning("%s event %s: %s is not applied locally", spec.logical_id, event.name, unsupported)
            name = props.get("RuleName") or f"{stack_name}-{spec.logical_id}-{event.name}".lower()[:64]
            bus = props.get("EventBusName", "default")
            queue_name = f"{stack_name}-{spec.logical_id}-{event.name}-rule".lower()[:80]
            sqs, events = client("sqs"), client("events")
            queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["Pattern"]), State="ENABLED")
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "local-shadow-queue", "Arn": queue_arn}])
            dead_letter = (props.get("DeadLetterConfig") or {}).get("Arn")
            invoke_config = (
                resolver.resolve(resolver.template.function_properties(spec.logical_id)).get("EventInvokeConfig") or {}
            )
            on_failure = on_failure_destination(invoke_config, resolver)
            sources.append(
                RuleSource(
                    function=spec.logical_id,
                    event=event.name,
                    rule=name,
                    bus=bus,
                    queue_url=queue_url,
                    queue_arn=queue_arn,
                    dead_letter_url=queue_by_arn(resolver.physical, dead_letter).ref if dead_letter else None,
                    retry_delays_s=scaled_delays(async_retry_delays({"EventInvokeConfig": invoke_config}), retry_scale),
                    on_failure_url=_on_failure_queue(resolver.physical, on_failure),
                )
            )
    return sources


class RulePoller(SqsPoller):
    """Hands each event from a rule's shadow queue to the function on its own, as EventBridge does.

    A failed event is retried after Lambda's delays (``RuleSource.retry_delays_s``); after the last attempt
    it goes to the function's OnFailure destination or the rule's dead-letter queue, so that a lost
    delivery shows up there instead of vanishing. An attempt whose ``up`` was killed counts as one, as a
    crashed invocation does in the cloud.
    """

    def handle(self, messages: list[dict]) -> None:
        handled: list[dict] = []  # deleted together at the end (one call, not one per event), held till then
        try:
            for index, message in enumerate(messages):
                self._handle_one(message, handled, messages[index:])
        finally:
            self._delete(handled)

    def _handle_one(self, message: dict, handled: list[dict], waiting: list[dict]) -> None:
        event = json.loads(message["Body"])
        # moto leaves out the envelope's "account"; EventBridge always sets it (the bus's account).
        event.setdefault("account", self.source.queue_arn.split(":")[4])
        invocation = self._holding(handled + waiting, lambda: self.invoke(self.source.function, event))
        if invocation.ok:
            handled.append(message)
            return
        error = invocation.error or {}
        attempt = _receives(message)
        log.error(
            "%s failed on an event from rule %s (attempt %d of %d): %s: %s",
            self.source.function,
            self.source.rule,
            attempt,
            self.source.attempts,
            error.get("errorType"),
            error.get("errorMessage"),
        )
        if attempt < self.source.attempts:
            delay = self.source.retry_delays_s[attempt - 1]
            self.sqs.change_message_visibility(
                QueueUrl=self.source.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=max(1, round(delay)),
            )
            return
        if self.source.on_failure_url:
            self.sqs.send_message(
                QueueUrl=self.source.on_failure_url,
                MessageBody=json.dumps(invocation_record(self.source, event, error, attempt)),
            )
        elif self.source.dead_letter_url:
            self.sqs.send_message(
                QueueUrl=self.source.dead_letter_url,
                MessageBody=message["Body"],
                MessageAttributes={
                    "ERROR_CODE": {"DataType": "String", "StringValue": str(error.get("errorType"))},
                    "ERROR_MESSAGE": {"DataType": "String", "StringValue": str(error.get("errorMessage"))[:256]},
                    "RULE_ARN": {"DataType": "String", "StringValue": self.source.rule},
                },
            )
        handled.append(message)  # dead-lettered


def invocation_record(source: RuleSource, event: dict, error: dict, attempts: int) -> dict:
    """What Lambda sends an asynchronous invocation's OnFailure destination once its retries are spent."""
    return {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": event.get("id"),
            "functionArn": source.function,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": error.get("errorType"), "errorMessage": error.get("errorMessage")},
    }


def start_pollers(
    sources: list[SqsSource | RuleSource],
    sqs_factory: Callable[[], Any],
    invoke: Callable[[str, Any], Invocation],
    region: str,
    stopping: threading.Event,
    ready: Callable[[str], bool] | None = None,
) -> list[threading.Thread]:
    threads = []
    for source in sources:
        for index in range(source.concurrency):
            kind = RulePoller if isinstance(source, RuleSource) else SqsPoller
            poller = kind(source, sqs_factory(), invoke, region, stopping, ready)
            thread = threading.Thread(target=poller.run, name=f"sqs-{source.function}-{index}", daemon=True)
            thread.start()
            threads.append(thread)
        log.info("consuming %s for %s (%s)", source.queue_url.rsplit("/", 1)[-1], source.function, source.event)
    return threads


# ------------------------------------------------------------------ DynamoDB streams

STREAM_POLL_S = 0.25
STREAM_BUSY_PAUSE_S = 1.0
MAX_STREAM_RETRIES = 10


@dataclass(frozen=True)
class StreamSource:
    """One ``Type: DynamoDB`` event of one function."""

    function: str
    event: str
    table: str
    batch_size: int
    starting_position: str
    report_failures: bool
    filters: tuple[dict, ...]
    max_retries: int
    on_failure_url: str | None
    concurrency: int = 1  # one poller reads every shard in order


def stream_sources(functions: dict[str, FunctionSpec], resolver: Resolver) -> list[StreamSource]:
    sources = []
    for spec in functions.values():
        for event in spec.events_of("DynamoDB"):
            props = resolver.resolve(event.properties)
            if str(props.get("Enabled", True)).lower() == "false":
                continue
            table = _table_by_stream_arn(resolver.physical, props["Stream"])
            patterns = tuple(
                json.loads(entry["Pattern"]) for entry in (props.get("FilterCriteria") or {}).get("Filters", [])
            )
            on_failure = on_failure_destination(props, resolver)
            retries = int(props.get("MaximumRetryAttempts", -1))
            sources.append(
                StreamSource(
                    function=spec.logical_id,
                    event=event.name,
                    table=table.ref,
                    batch_size=int(props.get("BatchSize", 100)),
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    filters=patterns,
                    max_retries=MAX_STREAM_RETRIES if retries < 0 else min(retries, MAX_STREAM_RETRIES),
                    on_failure_url=_on_failure_queue(resolver.physical, on_failure),
                )
            )
    return sources


def _table_by_stream_arn(physical: dict[str, Physical], arn: str) -> Physical:
    for item in physical.values():
        if item.type == TABLE and arn in (item.attributes.get("StreamArn"), item.attributes.get("Arn")):
            return item
    raise TemplateError(f"no table of this template has the stream {arn}")


def on_failure_destination(config: dict | None, resolver: Resolver) -> str | None:
    """The ARN an ``OnFailure`` destination names, resolved, when it is a queue; else None.

    ``config`` holds a ``DestinationConfig``: a function's ``EventInvokeConfig`` (asynchronous invocations: its
    ``Type`` is required, and only ``SQS`` is applied locally) or a stream event's properties (where ``Type`` is
    optional: a queue unless it says otherwise). The one reading of it, for the rule poller, the stream poller
    and the list of dead-letter queues alike.
    """
    on_failure = resolver.resolve(((config or {}).get("DestinationConfig") or {}).get("OnFailure") or {})
    destination = on_failure.get("Destination")
    if not destination or on_failure.get("Type", "SQS") != "SQS":
        return None
    return destination


def _on_failure_queue(physical: dict[str, Physical], arn: str | None) -> str | None:
    if not arn:
        return None
    try:
        return queue_by_arn(physical, arn).ref
    except TemplateError:
        log.warning("OnFailure destination %s is not a queue of this template; not applied locally", arn)
        return None


def matches_filter(pattern: object, value: object) -> bool:
    """Lambda's event filtering for the simple cases: nested keys, and lists of exact values or prefixes.

    A list holding another operator (``{"exists": ...}``, ``{"numeric": ...}``...)
    is not evaluated here: it matches, and the function filters for itself.
    """
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches_filter(inner, value.get(key)) for key, inner in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_option(option, value) for option in pattern)
    return value == pattern


def _matches_option(option: object, value: object) -> bool:
    if not isinstance(option, dict):
        return value == option
    if set(option) == {"prefix"}:
        return isinstance(value, str) and value.startswith(option["prefix"])
    return True


def stream_record(record: dict, stream_arn: str, region: str) -> dict:
    """One record of a Lambda DynamoDB-stream event, from one GetRecords record."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if created is not None:  # a datetime parsed by botocore, or epoch seconds as sent: Lambda's are whole seconds
        change["ApproximateCreationDateTime"] = int(created.timestamp() if hasattr(created, "timestamp") else created)
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


class StreamPoller:
    """Reads one table's stream for one function, shard by shard, in order."""

    def __init__(
        self,
        source: StreamSource,
        dynamodb: Any,
        streams: Any,
        invoke: Callable[[str, Any], Invocation],
        region: str,
        stopping: threading.Event,
        sqs: Any = None,
    ):
        self.source = source
        self.dynamodb = dynamodb
        self.streams = streams
        self.invoke = invoke
        self.region = region
        self.stopping = stopping
        self.sqs = sqs
        self.stream_arn = ""
        self.iterators: dict[str, str] = {}  # shard id -> where to read next
        self.retries: dict[str, int] = {}
        self.caught_up = False  # the last poll of every shard found nothing new

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                handled = self.poll_once()
            except Exception:
                if self.stopping.is_set():
                    return
                log.exception(
                    "reading the stream of %s for %s failed; retrying", self.source.table, self.source.function
                )
                self.iterators = {}
                handled = 0
            # Lambda reads a busy shard back to back; here each GetRecords serializes whole item images in moto's
            # own process, so a busy stream is read once a second, which leaves moto to the writes.
            self.stopping.wait(STREAM_BUSY_PAUSE_S if handled else STREAM_POLL_S)

    def poll_once(self) -> int:
        """One GetRecords per shard; the number of records read."""
        if not self.stream_arn:
            self.stream_arn = self.dynamodb.describe_table(TableName=self.source.table)["Table"]["LatestStreamArn"]
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        read = 0
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self._iterator(shard_id, self.source.starting_position)
            response = self.streams.get_records(ShardIterator=self.iterators[shard_id], Limit=self.source.batch_size)
            records = response.get("Records", [])
            read += len(records)
            resume_at = self.handle(shard_id, records) if records else None
            if resume_at is None:
                self.iterators[shard_id] = response.get("NextShardIterator") or self.iterators[shard_id]
            else:
                self.iterators[shard_id] = self._iterator(shard_id, "AT_SEQUENCE_NUMBER", resume_at)
        self.caught_up = read == 0
        return read

    def handle(self, shard_id: str, records: list[dict]) -> str | None:
        """Invoke the function with the records that pass the filter; the sequence number to retry from, if any."""
        events = [stream_record(record, self.stream_arn, self.region) for record in records]
        if self.source.filters:
            events = [event for event in events if any(matches_filter(p, event) for p in self.source.filters)]
        if not events:
            return None
        invocation = self.invoke(self.source.function, {"Records": events})
        failed = self._first_failure(invocation, events)
        if failed is None:
            self.retries.pop(shard_id, None)
            return None
        attempt = self.retries[shard_id] = self.retries.get(shard_id, 0) + 1
        error = invocation.error or {}
        log.error(
            "%s failed on a stream batch of %d (attempt %d): %s: %s",
            self.source.function,
            len(events),
            attempt,
            error.get("errorType", "batchItemFailures"),
            error.get("errorMessage", failed),
        )
        if attempt > self.source.max_retries:
            self.retries.pop(shard_id, None)
            self._give_up(shard_id, events)
            return None
        self.stopping.wait(min(attempt, 3) * 0.5)
        return failed

    def _first_failure(self, invocation: Invocation, events: list[dict]) -> str | None:
        sequence_numbers = [event["dynamodb"]["SequenceNumber"] for event in events]
        if not invocation.ok:
            return sequence_numbers[0]
        result = invocation.result
        if not self.source.report_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures") or []
        ids = [failure.get("itemIdentifier") for failure in failures if isinstance(failure, dict)]
        if not ids:
            return None
        known = [sequence for sequence in sequence_numbers if sequence in ids]
        return known[0] if known else sequence_numbers[0]  # an unknown identifier retries the whole batch

    def _give_up(self, shard_id: str, events: list[dict]) -> None:
        first, last = events[0]["dynamodb"]["SequenceNumber"], events[-1]["dynamodb"]["SequenceNumber"]
        log.error("%s: skipping stream records %s..%s of %s", self.source.function, first, last, shard_id)
        if self.source.on_failure_url and self.sqs is not None:
            body = {
                "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": self.source.function},
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first,
                    "endSequenceNumber": last,
                    "batchSize": len(events),
                    "streamArn": self.stream_arn,
                },
            }
            self.sqs.send_message(QueueUrl=self.source.on_failure_url, MessageBody=json.dumps(body))

    def _iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str:
        extra = {"SequenceNumber": sequence} if sequence else {}
        return self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=kind, **extra
        )["ShardIterator"]


def records_as_sent(streams: Any) -> Any:
    """The streams client, its GetRecords answers read as sent instead of parsed against the API's shapes.

    The wire records are already in the shape of a Lambda event's records; botocore parsing every item image
    (both images of every write) only for ``stream_record`` to turn them back was a third of the runner's
    CPU in a month close. botocore's ``before-parse`` hook takes the answer's JSON as the parsed result.
    """

    def take_as_sent(response_dict: dict, customized_response_dict: dict, **_: Any) -> None:
        if response_dict["status_code"] < 300:
            customized_response_dict.update(json.loads(response_dict["body"]))
            response_dict["body"] = b"{}"

    streams.meta.events.register("before-parse.dynamodb-streams.GetRecords", take_as_sent)
    return streams


def start_stream_pollers(
    sources: list[StreamSource],
    client: Callable[[str], Any],
    invoke: Callable[[str, Any], Invocation],
    region: str,
    stopping: threading.Event,
) -> tuple[list[threading.Thread], list[StreamPoller]]:
    threads, pollers = [], []
    for source in sources:
        streams = records_as_sent(client("dynamodbstreams"))
        poller = StreamPoller(source, client("dynamodb"), streams, invoke, region, stopping, client("sqs"))
        thread = threading.Thread(target=poller.run, name=f"stream-{source.function}", daemon=True)
        thread.start()
        threads.append(thread)
        pollers.append(poller)
        log.info("consuming the stream of %s for %s (%s)", source.table, source.function, source.event)
    return threads, pollers


# ------------------------------------------------------------------ schedules


@dataclass(frozen=True)
class Schedule:
    """A ``Schedule``/``ScheduleV2`` event: which function it runs, when, and with what input."""

    function: str
    event: str
    expression: str
    input: dict

    @property
    def monthly(self) -> bool:
        """A cron with a fixed day of the month, like ``cron(30 0 1 * ? *)``: the month close."""
        match = re.fullmatch(r"cron\((.+)\)", self.expression.strip())
        fields = match.group(1).split() if match else []
        return len(fields) == 6 and fields[2] not in ("*", "?") and fields[2][:1].isdigit()

    @property
    def period_s(self) -> float | None:
        """A ``rate(N unit)`` schedule's period (the delivery sweep's), None for a calendar one."""
        match = re.fullmatch(r"rate\((\d+)\s+(minute|hour|day)s?\)", self.expression.strip())
        if not match:
            return None
        return int(match.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[match.group(2)]

    @property
    def daily(self) -> bool:
        """A calendar schedule without a day of the month (the print run's weekdays at 15:00)."""
        return not self.monthly and self.period_s is None


def schedules(functions: dict[str, FunctionSpec], resolver: Resolver) -> list[Schedule]:
    found = []
    for spec in functions.values():
        for event in spec.events_of("Schedule", "ScheduleV2"):
            props = resolver.resolve(event.properties)
            raw_input = props.get("Input")
            found.append(
                Schedule(
                    spec.logical_id, event.name, str(props.get("ScheduleExpression", "")), json.loads(raw_input or "{}")
                )
            )
    return found


def dead_letter_queues(
    functions: dict[str, FunctionSpec], resolver: Resolver, template_resources: dict
) -> dict[str, str]:
    """Logical id → URL of every dead-letter queue: redrive targets of queues and rules' DeadLetterConfig."""
    arns = set()
    for resource in template_resources.values():
        if resource.get("Type") == QUEUE:
            policy = (resource.get("Properties") or {}).get("RedrivePolicy") or {}
            if policy.get("deadLetterTargetArn"):
                arns.add(resolver.resolve(policy["deadLetterTargetArn"]))
    for spec in functions.values():
        for event in spec.events_of("EventBridgeRule", "CloudWatchEvent"):
            dead_letter = (event.properties.get("DeadLetterConfig") or {}).get("Arn")
            if dead_letter:
                arns.add(resolver.resolve(dead_letter))
        on_failure = on_failure_destination(
            resolver.template.function_properties(spec.logical_id).get("EventInvokeConfig"), resolver
        )
        if on_failure:
            arns.add(on_failure)
    queues = [queue_by_arn(resolver.physical, arn) for arn in arns]
    return {queue.logical_id: queue.ref for queue in sorted(queues, key=lambda queue: queue.logical_id)}


@dataclass
class CloseReport:
    """What ``close_month`` did: the close's result, whether its fan-out finished, dead letters."""

    month: str | None
    invocations: dict[str, Invocation]
    drained: bool
    dead_letters: dict[str, int]
    not_run: list[str]

    @property
    def ok(self) -> bool:
        return self.drained and all(i.ok for i in self.invocations.values()) and not any(self.dead_letters.values())

    def as_json(self) -> dict:
        return {
            "month": self.month,
            "runs": {
                name: invocation.result if invocation.ok else {"error": invocation.error}
                for name, invocation in self.invocations.items()
            },
            "drained": self.drained,
            "dead_letters": self.dead_letters,
            "other_schedules_not_run": self.not_run,
            "ok": self.ok,
        }


def close_month(
    month: str | None,
    found: list[Schedule],
    invoke: Callable[[str, Any], Invocation],
    sqs: Any,
    consumed_queues: list[str],
    dead_letters: dict[str, str],
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
) -> CloseReport:
    """Run the month close as its schedule would, and wait for everything it sets off.

    The monthly schedule(s) get ``{"month": month}`` on top of their own input;
    then this waits until every consumed queue (SQS consumers and event-rule
    shadow queues) stays empty: invoices issued and delivery events handled.
    Other schedules (a daily print run…) keep their own rhythm and are not run.
    """
    closing = [schedule for schedule in found if schedule.monthly]
    if not closing:
        raise TemplateError("the template has no monthly schedule (a cron with a day of the month) to close a month")
    invocations = {
        f"{schedule.function}.{schedule.event}": invoke(
            schedule.function, {**schedule.input, **({"month": month} if month else {})}
        )
        for schedule in closing
    }
    drained = wait_until_drained(sqs, consumed_queues, timeout_s, progress=progress)
    depths = {name: queue_depth(sqs, url) for name, url in dead_letters.items()}
    others = [f"{schedule.function}.{schedule.event}" for schedule in found if not schedule.monthly]
    return CloseReport(month, invocations, drained, depths, others)


@dataclass
class SweepReport:
    """What ``sweep`` did: each ``rate(…)`` schedule's result, whether what it set off finished, dead letters."""

    invocations: dict[str, Invocation]
    drained: bool
    dead_letters: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.drained and all(i.ok for i in self.invocations.values()) and not any(self.dead_letters.values())

    def as_json(self) -> dict:
        return {
            "runs": {
                name: invocation.result if invocation.ok else {"error": invocation.error}
                for name, invocation in self.invocations.items()
            },
            "drained": self.drained,
            "dead_letters": self.dead_letters,
            "ok": self.ok,
        }


def run_schedule(
    event: str,
    day: str,
    found: list[Schedule],
    invoke: Callable[[str, Any], Invocation],
    sqs: Any,
    consumed_queues: list[str],
    dead_letters: dict[str, str],
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
) -> SweepReport:
    """Run the schedule named ``event`` as on ``day`` (its input with ``date``), and wait for what it sets off."""
    named = [schedule for schedule in found if schedule.event == event]
    if not named:
        raise TemplateError(f"the template has no schedule {event}")
    waiting = (sqs, consumed_queues, dead_letters, timeout_s, progress)
    return _run_and_wait(named, {"date": day}, invoke, *waiting)


def sweep(
    given: dict,
    found: list[Schedule],
    invoke: Callable[[str, Any], Invocation],
    sqs: Any,
    consumed_queues: list[str],
    dead_letters: dict[str, str],
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
) -> SweepReport:
    """Run every ``rate(…)`` schedule now, with ``given`` over its input, and wait for what it sets off."""
    frequent = [schedule for schedule in found if schedule.period_s is not None]
    if not frequent:
        raise TemplateError("the template has no rate(…) schedule (a delivery sweep) to run")
    return _run_and_wait(frequent, given, invoke, sqs, consumed_queues, dead_letters, timeout_s, progress)


def _run_and_wait(
    chosen: list[Schedule],
    given: dict,
    invoke: Callable[[str, Any], Invocation],
    sqs: Any,
    consumed_queues: list[str],
    dead_letters: dict[str, str],
    timeout_s: float,
    progress: Callable[[str], None] | None,
) -> SweepReport:
    """Invoke each schedule with ``given`` over its input, wait until every consumed queue is empty, and report
    the dead-letter queues' depths."""
    invocations = {
        f"{schedule.function}.{schedule.event}": invoke(schedule.function, {**schedule.input, **given})
        for schedule in chosen
    }
    drained = wait_until_drained(sqs, consumed_queues, timeout_s, progress=progress)
    depths = {name: queue_depth(sqs, url) for name, url in dead_letters.items()}
    return SweepReport(invocations, drained, depths)


class ScheduleClock:
    """Runs each ``rate(…)`` schedule on the clock while the stack serves: first after one period, as
    EventBridge Scheduler does, then every period. A failed run is logged; the next one comes anyway."""

    def __init__(self, found: list[Schedule], invoke: Callable[[str, Any], Invocation], stopping: threading.Event):
        self.schedules = [schedule for schedule in found if schedule.period_s is not None]
        self.invoke = invoke
        self.stopping = stopping

    def start(self) -> list[threading.Thread]:
        threads = []
        for schedule in self.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), name=f"clock-{schedule.function}")
            thread.daemon = True
            thread.start()
            threads.append(thread)
            log.info("running %s every %ss (%s)", schedule.function, f"{schedule.period_s:g}", schedule.expression)
        return threads

    def _run(self, schedule: Schedule) -> None:
        while not self.stopping.wait(schedule.period_s):
            invocation = self.invoke(schedule.function, schedule.input)
            if not invocation.ok:
                error = invocation.error or {}
                log.error("%s failed on its schedule: %s", schedule.function, error.get("errorMessage"))


@dataclass
class PrintReport:
    """What ``print_run`` did: the planner's result, whether its fan-out finished, the batches written."""

    day: str
    invocations: dict[str, Invocation]
    drained: bool
    dead_letters: dict[str, int]
    batches: list[dict]

    @property
    def ok(self) -> bool:
        return self.drained and all(i.ok for i in self.invocations.values()) and not any(self.dead_letters.values())

    def as_json(self) -> dict:
        return {
            "date": self.day,
            "runs": {
                name: invocation.result if invocation.ok else {"error": invocation.error}
                for name, invocation in self.invocations.items()
            },
            "drained": self.drained,
            "dead_letters": self.dead_letters,
            "batches": self.batches,
            "letters": sum(batch["letters"] for batch in self.batches),
            "envelopes": sum(batch["envelopes"] for batch in self.batches),
            "ok": self.ok,
        }


PRINT_SCHEDULE = "DailyPrintRun"  # the print run's schedule in template.yaml


def print_run(
    day: str,
    found: list[Schedule],
    invoke: Callable[[str, Any], Invocation],
    sqs: Any,
    s3: Any,
    buckets: list[str],
    consumed_queues: list[str],
    dead_letters: dict[str, str],
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
) -> PrintReport:
    """Run the daily print schedule for ``day`` (the one named ``PRINT_SCHEDULE``, or every daily one if the
    template names none so) and wait until the batches it fans out are written. The other daily schedules (the
    debit run, the reminders) have their own commands.

    A schedule's result may name the ``archive_prefix`` its batches are
    written under; each folder there holding a ``manifest.csv`` is a written
    batch, summed from its rows (letters, and envelopes if it has that column).
    """
    daily = [schedule for schedule in found if schedule.daily]
    if not daily:
        raise TemplateError("the template has no daily schedule (a cron without a day of the month) to run")
    named = [schedule for schedule in daily if schedule.event == PRINT_SCHEDULE]
    invocations = {
        f"{schedule.function}.{schedule.event}": invoke(schedule.function, {**schedule.input, "date": day})
        for schedule in named or daily
    }
    drained = wait_until_drained(sqs, consumed_queues, timeout_s, progress=progress)
    depths = {name: queue_depth(sqs, url) for name, url in dead_letters.items()}
    prefixes = {
        invocation.result["archive_prefix"]
        for invocation in invocations.values()
        if invocation.ok and isinstance(invocation.result, dict) and invocation.result.get("archive_prefix")
    }
    batches = [batch for prefix in sorted(prefixes) for batch in written_batches(s3, buckets, prefix)]
    return PrintReport(day, invocations, drained, depths, batches)


def written_batches(s3: Any, buckets: list[str], prefix: str) -> list[dict]:
    found = []
    for bucket in buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                if not entry["Key"].endswith("/manifest.csv"):
                    continue
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read().decode("utf-8-sig")
                rows = list(csv.DictReader(io.StringIO(body)))
                folder = entry["Key"].rsplit("/", 1)[0] + "/"
                found.append(
                    {
                        "folder": f"s3://{bucket}/{folder}",
                        "letters": len(rows),
                        "envelopes": len({row.get("envelope") for row in rows}) if rows else 0,
                    }
                )
    return found


def buckets_of(physical: dict[str, Physical]) -> list[str]:
    return [item.ref for item in physical.values() if item.type == BUCKET]


def queue_depth(sqs: Any, url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def wait_until_drained(
    sqs: Any,
    queue_urls: list[str],
    timeout_s: float = 600,
    settle_s: float = 1.5,
    progress: Callable[[str], None] | None = None,
    every_s: float = 2.0,
) -> bool:
    """Wait until every queue stays empty for ``settle_s``; False on timeout.

    ``progress`` gets a line with the messages still waiting in each busy
    queue, every ``every_s`` seconds, so a long close shows it is moving.
    """
    deadline = time.monotonic() + timeout_s
    empty_since: float | None = None
    last_report = time.monotonic()
    while time.monotonic() < deadline:
        depths = {url.rsplit("/", 1)[-1]: queue_depth(sqs, url) for url in queue_urls}
        if progress and time.monotonic() - last_report >= every_s and any(depths.values()):
            busy = ", ".join(f"{name} {depth:,}" for name, depth in depths.items() if depth)
            progress(f"waiting for {sum(depths.values()):,} messages: {busy}")
            last_report = time.monotonic()
        if not any(depths.values()):
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= settle_s:
                return True
        else:
            empty_since = None
        time.sleep(0.25 if empty_since else 1.0)  # every call is moto's work too: look often only at the end
    return False
