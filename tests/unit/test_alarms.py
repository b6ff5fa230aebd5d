"""Someone hears about failures: every function and queue has its alarm, and every alarm tells AlertTopic."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, load_template
from tools import alarms


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def of_type(template: dict, kind: str) -> dict:
    return {logical_id: r for logical_id, r in template["Resources"].items() if r["Type"] == kind}


def test_the_generated_alarm_block_is_up_to_date(template):
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    assert alarms.regenerate(text, template) == text, "run: python -m tools.alarms"


def test_every_alarm_tells_the_alert_topic_when_it_fires_and_clears(template):
    found = of_type(template, "AWS::CloudWatch::Alarm")
    assert found
    for logical_id, alarm in found.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlertTopic"}], logical_id
        assert props["OKActions"] == [{"Ref": "AlertTopic"}], logical_id


def test_every_function_has_an_errors_and_a_throttles_alarm(template):
    watched = {
        (a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == "AWS/Lambda"
    }
    for function in of_type(template, "AWS::Serverless::Function"):
        assert {("Errors", function), ("Throttles", function)} <= watched


def test_a_dead_letter_queue_alarms_on_any_message_and_a_work_queue_on_its_oldest(template):
    by_queue = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: a["Properties"]
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == "AWS/SQS"
    }
    queues = of_type(template, "AWS::SQS::Queue")
    assert set(by_queue) == set(queues)
    for queue, props in by_queue.items():
        if queue.endswith("DeadLetterQueue"):
            assert (props["MetricName"], props["Threshold"]) == ("ApproximateNumberOfMessagesVisible", 0), queue
        else:
            assert props["MetricName"] == "ApproximateAgeOfOldestMessage", queue


def test_the_dead_letter_queues_are_found_from_what_sends_to_them(template):
    sources = alarms.dead_letter_sources(template["Resources"])
    assert set(sources) == {q for q in of_type(template, "AWS::SQS::Queue") if q.endswith("DeadLetterQueue")}
    assert "IssueInvoiceQueue" in sources["IssueInvoiceDeadLetterQueue"]
    assert "DeliverInvoiceFunction's InvoiceIssued (EventBridgeRule)" in sources["DeliverInvoiceDeadLetterQueue"]


def test_the_alert_email_is_subscribed_only_when_given(template):
    subscription = template["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert template["Parameters"]["AlertEmail"]["Default"] == ""
    assert template["Conditions"]["HasAlertEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]}


def test_every_http_api_writes_json_access_logs_to_its_own_log_group(template):
    apis = of_type(template, "AWS::Serverless::HttpApi")
    groups = set()
    for logical_id, api in apis.items():
        settings = api["Properties"]["AccessLogSettings"]
        group = settings["DestinationArn"]["Fn::GetAtt"][0]
        assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup", logical_id
        groups.add(group)
        fields = json.loads(settings["Format"])  # one JSON object per request, for Logs Insights
        assert {"requestId", "routeKey", "status", "caller"} <= set(fields), logical_id
    assert len(groups) == len(apis)
