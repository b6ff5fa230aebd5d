"""Queue consumers keep Lambda's rules for partial batch responses; the month close is the monthly schedule."""

from __future__ import annotations

import pytest

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
