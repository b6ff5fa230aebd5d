"""DynamoDB stream consumers keep Lambda's rules: filters, order per shard, partial failures, the on-failure queue."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from local.event_sources import StreamPoller, StreamSource, matches_filter, stream_sources
from local.resources import plan
from local.runtime import Invocation
from local.stack import DEFAULT_TEMPLATE
from local.template import Pseudo, Resolver, Template

PSEUDO = Pseudo("ap-northeast-1", "123456789012", "invoicing-local")
PROFILE_CHANGE = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "ACCOUNT#a"}, "sk": {"S": "PROFILE"}}}}
USAGE_CHANGE = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "ACCOUNT#a"}, "sk": {"S": "USAGE#2026-11"}}}}
PATTERN = {"eventName": ["MODIFY"], "dynamodb": {"Keys": {"sk": {"S": ["PROFILE"]}}}}
USAGE_PATTERN = {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "USAGE#"}]}}}}


def test_the_template_wires_the_usage_watch_to_the_billing_tables_stream():
    template = Template.load(DEFAULT_TEMPLATE)
    resolver = Resolver(template, PSEUDO, plan(template, PSEUDO, "http://127.0.0.1:1"))
    (source,) = stream_sources(template.functions(resolver), resolver)
    assert (source.function, source.table) == ("UsageWatchFunction", "invoicing-local-billingtable")
    assert source.report_failures and source.filters == (PATTERN, USAGE_PATTERN)
    assert source.on_failure_url.endswith("usagewatchdeadletterqueue")


@pytest.mark.parametrize(
    ("record", "passes"),
    [
        (PROFILE_CHANGE, True),
        ({**PROFILE_CHANGE, "eventName": "INSERT"}, False),
        (
            {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "ACCOUNT#a"}, "sk": {"S": "USAGE#2026-11"}}}},
            False,
        ),
        ({"eventName": "MODIFY"}, False),
    ],
)
def test_a_filter_pattern_matches_exact_values_under_nested_keys(record, passes):
    assert matches_filter(PATTERN, record) is passes


@pytest.mark.parametrize(
    ("record", "passes"),
    [
        (USAGE_CHANGE, True),
        ({**USAGE_CHANGE, "eventName": "INSERT"}, True),
        ({**USAGE_CHANGE, "eventName": "REMOVE"}, False),
        (PROFILE_CHANGE, False),
        ({"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"N": "1"}}}}, False),
    ],
)
def test_a_prefix_matches_the_start_of_a_string(record, passes):
    assert matches_filter(USAGE_PATTERN, record) is passes


def test_a_pattern_with_another_operator_is_left_to_the_function():
    assert matches_filter({"dynamodb": {"Keys": {"sk": {"S": [{"exists": True}]}}}}, PROFILE_CHANGE)


class FakeStreams:
    """One shard holding three profile changes; iterators are positions."""

    def __init__(self):
        self.records = [
            {
                "eventID": str(n),
                "eventName": "MODIFY",
                "dynamodb": {
                    **PROFILE_CHANGE["dynamodb"],
                    "SequenceNumber": f"{n}00",
                    "ApproximateCreationDateTime": datetime(2026, 11, 10, tzinfo=UTC),
                },
            }
            for n in (1, 2, 3)
        ]

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        if ShardIteratorType == "TRIM_HORIZON":
            return {"ShardIterator": "0"}
        numbers = [r["dynamodb"]["SequenceNumber"] for r in self.records]
        return {"ShardIterator": str(numbers.index(SequenceNumber))}

    def describe_stream(self, StreamArn):
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_records(self, ShardIterator, Limit):
        start = int(ShardIterator)
        return {"Records": self.records[start : start + Limit], "NextShardIterator": str(len(self.records))}


class FakeQueue:
    def __init__(self):
        self.sent = []

    def send_message(self, QueueUrl, MessageBody):
        self.sent.append(MessageBody)


def poller(answers: list[Invocation], max_retries: int = 2) -> tuple[StreamPoller, list[list[str]], FakeQueue]:
    source = StreamSource("Fn", "Stream", "table", 100, "TRIM_HORIZON", True, (PATTERN,), max_retries, "http://dlq")
    batches, queue = [], FakeQueue()

    def invoke(function, event):
        batches.append([record["dynamodb"]["SequenceNumber"] for record in event["Records"]])
        assert all(record["eventSource"] == "aws:dynamodb" for record in event["Records"])
        assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in event["Records"])
        return answers.pop(0) if answers else Invocation("r", result={"batchItemFailures": []})

    stopping = threading.Event()
    stopping.set()  # no waiting between retries
    made = StreamPoller(source, None, FakeStreams(), invoke, "ap-northeast-1", stopping, queue)
    made.stream_arn = "arn:aws:dynamodb:ap-northeast-1:123456789012:table/table/stream/x"
    return made, batches, queue


def test_a_partial_failure_resumes_at_the_failed_record():
    made, batches, _ = poller([Invocation("r", result={"batchItemFailures": [{"itemIdentifier": "200"}]})])
    made.poll_once()
    made.poll_once()
    made.poll_once()
    assert batches == [["100", "200", "300"], ["200", "300"]]


def test_a_failed_invocation_retries_the_batch_then_sends_it_to_the_on_failure_queue():
    failed = Invocation("r", error={"errorType": "RuntimeError", "errorMessage": "boom"})
    made, batches, queue = poller([failed, failed, failed], max_retries=2)
    for _ in range(4):
        made.poll_once()
    assert batches == [["100", "200", "300"]] * 3
    assert len(queue.sent) == 1 and '"startSequenceNumber": "100"' in queue.sent[0]
