"""The template's non-HTTP triggers, run locally: SQS consumers and scheduled functions.

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

**Schedules** (``Type: Schedule`` / ``ScheduleV2``) are not run by a clock
locally; ``run_schedule`` invokes the function with the schedule's input when
asked (``python -m local close-month``), and ``wait_until_drained`` waits until
every consumed queue is empty, i.e. until the work it fanned out is done.

EventBridge rules will follow the same shape: a shadow queue as the rule's
target, consumed by an ``SqsPoller``.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.resources import QUEUE
from local.runtime import Invocation
from local.template import FunctionSpec, Physical, Resolver, TemplateError

log = logging.getLogger("local.events")

LONG_POLL_S = 1  # short enough that stopping the stack is prompt
MAX_RETRY_DELAY_S = 10


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
        source: SqsSource,
        sqs: Any,
        invoke: Callable[[str, Any], Invocation],
        region: str,
        stopping: threading.Event,
    ):
        self.source = source
        self.sqs = sqs
        self.invoke = invoke
        self.region = region
        self.stopping = stopping

    def run(self) -> None:
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
        if not messages:
            return 0
        records = [sqs_record(message, self.source, self.region) for message in messages]
        invocation = self.invoke(self.source.function, {"Records": records})
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
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
        for message in messages:
            if message["MessageId"] in failed:
                receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
                self.sqs.change_message_visibility(
                    QueueUrl=self.source.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=min(2 * receives, MAX_RETRY_DELAY_S),
                )
        return len(messages)

    def _receive(self, wait_s: int, count: int) -> list[dict]:
        response = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])


def start_pollers(
    sources: list[SqsSource],
    sqs_factory: Callable[[], Any],
    invoke: Callable[[str, Any], Invocation],
    region: str,
    stopping: threading.Event,
) -> list[threading.Thread]:
    threads = []
    for source in sources:
        for index in range(source.concurrency):
            poller = SqsPoller(source, sqs_factory(), invoke, region, stopping)
            thread = threading.Thread(target=poller.run, name=f"sqs-{source.function}-{index}", daemon=True)
            thread.start()
            threads.append(thread)
        log.info("consuming %s for %s (%s)", source.queue_url.rsplit("/", 1)[-1], source.function, source.event)
    return threads


# ------------------------------------------------------------------ schedules


def scheduled_functions(functions: dict[str, FunctionSpec]) -> list[str]:
    return [
        spec.logical_id
        for spec in functions.values()
        if spec.events_of("Schedule", "ScheduleV2")  # an EventBridge rule schedule, or EventBridge Scheduler
    ]


def dead_letter_queues(physical: dict[str, Physical], template_resources: dict) -> dict[str, str]:
    """Logical id → URL of every queue that some queue's RedrivePolicy names as its dead-letter target."""
    targets = set()
    for resource in template_resources.values():
        if resource.get("Type") == QUEUE:
            policy = (resource.get("Properties") or {}).get("RedrivePolicy") or {}
            target = policy.get("deadLetterTargetArn")
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                targets.add(target["Fn::GetAtt"][0])
    return {logical_id: physical[logical_id].ref for logical_id in sorted(targets) if logical_id in physical}


@dataclass
class CloseReport:
    """What ``run_schedule`` did: each scheduled function's result, whether the fan-out finished, dead letters."""

    input: dict
    invocations: dict[str, Invocation]
    drained: bool
    dead_letters: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.drained and all(i.ok for i in self.invocations.values()) and not any(self.dead_letters.values())

    def as_json(self) -> dict:
        return {
            "input": self.input,
            "invocations": {
                name: invocation.result if invocation.ok else {"error": invocation.error}
                for name, invocation in self.invocations.items()
            },
            "drained": self.drained,
            "dead_letters": self.dead_letters,
            "ok": self.ok,
        }


def run_schedule(
    schedule_input: dict,
    functions: dict[str, FunctionSpec],
    invoke: Callable[[str, Any], Invocation],
    sqs: Any,
    consumed_queues: list[str],
    dead_letters: dict[str, str],
    timeout_s: float = 600,
) -> CloseReport:
    """Invoke every scheduled function with ``schedule_input``, then wait for the queues they feed to empty."""
    names = scheduled_functions(functions)
    if not names:
        raise TemplateError("the template has no scheduled function (Type: Schedule or ScheduleV2)")
    invocations = {name: invoke(name, schedule_input) for name in names}
    drained = wait_until_drained(sqs, consumed_queues, timeout_s)
    depths = {name: queue_depth(sqs, url) for name, url in dead_letters.items()}
    return CloseReport(schedule_input, invocations, drained, depths)


def queue_depth(sqs: Any, url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def wait_until_drained(sqs: Any, queue_urls: list[str], timeout_s: float = 600, settle_s: float = 1.5) -> bool:
    """Wait until every queue stays empty for ``settle_s``; False on timeout."""
    deadline = time.monotonic() + timeout_s
    empty_since: float | None = None
    while time.monotonic() < deadline:
        if all(queue_depth(sqs, url) == 0 for url in queue_urls):
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= settle_s:
                return True
        else:
            empty_since = None
        time.sleep(0.25)
    return False
