"""Queue consumers keep Lambda's rules for partial batch responses; the month close is the monthly schedule."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from local import event_sources
from local.event_sources import Schedule, SqsSource, failed_ids
from local.runtime import Invocation

IDS = ["m1", "m2", "m3"]


def source(report_failures: bool = True) -> SqsSource:
    return SqsSource("Fn", "Queue", "http://q", "arn:aws:sqs:ap-northeast-1:123456789012:q", 10, report_failures, 2)


def ok(result) -> Invocation:
    return Invocation("request", result=result)


@pytest.mark.parametrize(
    ("result", "stays"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": "m2"}, set(IDS)),
        ("not an object", set(IDS)),
    ],
    ids=["null", "empty", "no failures", "one failure", "unknown id", "empty id", "not a list", "not an object"],
)
def test_report_batch_item_failures_keeps_exactly_the_failed_messages(result, stays):
    assert failed_ids(source(), ok(result), IDS) == stays


def test_a_failed_invocation_keeps_the_whole_batch():
    failed = Invocation("request", error={"errorType": "KeyError", "errorMessage": "x"})
    assert failed_ids(source(), failed, IDS) == set(IDS)
    assert failed_ids(source(report_failures=False), failed, IDS) == set(IDS)


def test_without_report_batch_item_failures_a_success_deletes_the_whole_batch():
    assert (
        failed_ids(source(report_failures=False), ok({"batchItemFailures": [{"itemIdentifier": "m1"}]}), IDS) == set()
    )


@pytest.mark.parametrize(
    ("expression", "monthly"),
    [
        ("cron(30 0 1 * ? *)", True),
        ("cron(0 15 ? * MON-FRI *)", False),
        ("cron(0 9 * * ? *)", False),
        ("rate(1 day)", False),
    ],
)
def test_the_month_close_is_the_schedule_with_a_day_of_the_month(expression, monthly):
    assert Schedule("Fn", "Event", expression, {}).monthly is monthly


@pytest.mark.parametrize(
    ("expression", "period_s", "daily"),
    [
        ("rate(15 minutes)", 900, False),
        ("rate(1 hour)", 3600, False),
        ("cron(0 15 ? * MON-FRI *)", None, True),
        ("cron(30 0 1 * ? *)", None, False),
    ],
)
def test_a_rate_schedule_runs_on_the_clock_and_is_neither_the_close_nor_the_print_run(expression, period_s, daily):
    schedule = Schedule("Fn", "Event", expression, {})
    assert (schedule.period_s, schedule.daily) == (period_s, daily)


# ------------------------------------------------ how long a consumer holds what it took


@pytest.fixture
def queue(monkeypatch):
    """A moto queue whose consumer holds a message for 1 s instead of 20 (``HELD_S``)."""
    from moto import mock_aws

    monkeypatch.setattr(event_sources, "HELD_S", 1)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="ap-northeast-1")
        url = sqs.create_queue(QueueName="held", Attributes={"VisibilityTimeout": "360"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        yield sqs, SqsSource("Fn", "Queue", url, "arn:aws:sqs:ap-northeast-1:123456789012:held", 10, True, 1)


def other_consumer_sees(sqs, url) -> int:
    return len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []))


def test_a_message_stays_held_while_its_function_runs_longer_than_the_hold(queue):
    # Given a consumer whose function takes three holds' time
    sqs, queue_source = queue
    seen = []

    def slow(_function, _event):
        for _ in range(5):
            time.sleep(0.6)
            seen.append(other_consumer_sees(sqs, queue_source.queue_url))
        return Invocation("request", result={})

    poller = event_sources.SqsPoller(queue_source, sqs, slow, "ap-northeast-1", threading.Event())
    # When it takes the message / Then no other consumer gets it while the function runs, and it is gone after
    assert poller.poll_once() == 1
    assert seen == [0] * 5
    time.sleep(1.5)
    assert other_consumer_sees(sqs, queue_source.queue_url) == 0


def test_a_message_taken_by_a_consumer_that_died_comes_back_after_the_hold_not_the_queues_timeout(queue):
    # Given a consumer that took the message and died before its function answered (nothing renews or deletes)
    sqs, queue_source = queue
    poller = event_sources.SqsPoller(queue_source, sqs, None, "ap-northeast-1", threading.Event())
    assert len(poller._receive(0, 10)) == 1
    assert other_consumer_sees(sqs, queue_source.queue_url) == 0
    # Then the message is back after the 1 s hold, although the queue's visibility timeout is 360 s
    time.sleep(1.5)
    assert other_consumer_sees(sqs, queue_source.queue_url) == 1


def test_a_consumer_takes_nothing_until_its_function_is_ready(queue):
    sqs, queue_source = queue
    stopping = threading.Event()
    stopping.set()  # the stack stops before the function ever finished its init
    poller = event_sources.SqsPoller(queue_source, sqs, None, "ap-northeast-1", stopping, ready=lambda _: False)
    poller.run()
    assert other_consumer_sees(sqs, queue_source.queue_url) == 1


# ------------------------------------------------ an EventBridge rule's event: Lambda's asynchronous retries


def test_a_failed_rule_event_is_retried_after_lambdas_delays_then_sent_to_on_failure_as_an_invocation_record():
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="ap-northeast-1")
        shadow = sqs.create_queue(QueueName="shadow")["QueueUrl"]
        on_failure = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
        event = {"id": "e1", "detail-type": "InvoiceIssued", "source": "invoicing", "detail": {"n": 1}}
        sqs.send_message(QueueUrl=shadow, MessageBody=json.dumps(event))
        # Given a rule whose function retries twice, its delays scaled to 2 and 3 s, and a function that always fails
        source = event_sources.RuleSource(
            "Fn",
            "Rule",
            "rule",
            "bus",
            shadow,
            "arn:aws:sqs:ap-northeast-1:123456789012:shadow",
            None,
            (2.0, 3.0),
            on_failure,
        )
        attempts = []

        def failing(_function, _event):
            attempts.append(time.monotonic())
            return Invocation("request", error={"errorType": "LeaseBusy", "errorMessage": "held"})

        poller = event_sources.RulePoller(source, sqs, failing, "ap-northeast-1", threading.Event())
        # When the poller runs until the event is handed out no more
        deadline = time.monotonic() + 20
        while len(attempts) < 3 and time.monotonic() < deadline:
            poller.poll_once()
        # Then it ran three times, the retries waiting about 2 then 3 s (not a few seconds each)
        assert len(attempts) == 3
        first, second = attempts[1] - attempts[0], attempts[2] - attempts[1]
        assert 1.9 <= first < 3.5 and 2.9 <= second < 4.5, (first, second)
        # And the event is in the OnFailure queue as Lambda's invocation record, and gone from the rule's queue
        (record,) = sqs.receive_message(QueueUrl=on_failure).get("Messages", [])
        body = json.loads(record["Body"])
        assert body["requestPayload"]["detail"] == {"n": 1}
        assert (
            body["requestContext"]["condition"] == "RetriesExhausted"
            and body["requestContext"]["approximateInvokeCount"] == 3
        )
        assert body["responsePayload"]["errorType"] == "LeaseBusy"
        assert sqs.receive_message(QueueUrl=shadow, VisibilityTimeout=0).get("Messages") is None


def test_a_rule_event_is_retried_as_lambda_retries_an_asynchronous_invocation_by_default():
    source = event_sources.RuleSource("Fn", "Rule", "rule", "bus", "url", "arn", None)
    assert source.retry_delays_s == (60.0, 120.0) and source.attempts == 3


def test_an_on_failure_destination_is_read_one_way_for_rules_streams_and_the_dead_letter_list():
    from local.event_sources import on_failure_destination
    from local.resources import plan
    from local.stack import DEFAULT_TEMPLATE
    from local.template import Pseudo, Resolver, Template

    template = Template.load(DEFAULT_TEMPLATE)
    pseudo = Pseudo("ap-northeast-1", "123456789012", "invoicing-local")
    resolver = Resolver(template, pseudo, plan(template, pseudo, "http://127.0.0.1:1"))
    queue = {"Fn::GetAtt": ["DeliverInvoiceDeadLetterQueue", "Arn"]}
    arn = resolver.resolve(queue)
    assert arn.startswith("arn:aws:sqs:") and arn.endswith("deliverinvoicedeadletterqueue")
    # an asynchronous invocation's EventInvokeConfig names a queue: resolved
    assert (
        on_failure_destination({"DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": queue}}}, resolver)
        == arn
    )
    # a stream event's DestinationConfig may leave its Type out: a queue
    assert on_failure_destination({"DestinationConfig": {"OnFailure": {"Destination": arn}}}, resolver) == arn
    # a destination that is not a queue, or none at all, is not applied locally
    sns = {"DestinationConfig": {"OnFailure": {"Type": "SNS", "Destination": "arn:aws:sns:ap-northeast-1:1:t"}}}
    assert on_failure_destination(sns, resolver) is None
    assert on_failure_destination({}, resolver) is None and on_failure_destination(None, resolver) is None
    # and the template's delivery dead-letter queue is both the rule's OnFailure queue and in the dead-letter list
    functions = template.functions(resolver)
    assert "DeliverInvoiceDeadLetterQueue" in event_sources.dead_letter_queues(functions, resolver, template.resources)
