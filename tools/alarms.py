"""Write template.yaml's alarm block: one alarm per function failure and per queue, all sent to AlertTopic.

Run ``python -m tools.alarms`` after adding or removing a function or a queue;
``tests/unit/test_alarms.py`` fails while the block is stale. The block sits
between the ``# >>> alarms`` and ``# <<< alarms`` lines; everything else in the
template is left as it is.

- every function: ``Errors`` > 0 and ``Throttles`` > 0 in five minutes;
- every queue a consumer reads: ``ApproximateAgeOfOldestMessage`` over
  ``QUEUE_AGE_SECONDS`` (the work is stuck or being retried);
- every dead-letter queue (a redrive target, or a function event's
  ``DeadLetterConfig`` or ``OnFailure`` destination): any message visible.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from local.template import load_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
BEGIN = "  # >>> alarms"
END = "  # <<< alarms"
TOPIC = "AlertTopic"
FUNCTION = "AWS::Serverless::Function"
QUEUE = "AWS::SQS::Queue"
QUEUE_AGE_SECONDS = 900  # a healthy queue is drained in seconds; a message this old is stuck or retrying

# What a message in each dead-letter queue means to the business (else it is said from the queue's source).
MEANING = {
    "MonthlyCloseDeadLetterQueue": "the scheduler could not start the month close after retries",
    "AccountPagesDeadLetterQueue": "a page of accounts could not be fanned out for the month close",
    "IssueInvoiceDeadLetterQueue": "an account's invoice could not be issued after retries",
    "DeliverInvoiceDeadLetterQueue": "an InvoiceIssued event could not be delivered after retries",
    "DailyPrintRunDeadLetterQueue": "the scheduler could not start the daily print run after retries",
    "UsageWatchDeadLetterQueue": "a batch of count readings could not be checked for 洗い替え after retries",
}


@dataclass(frozen=True)
class Alarm:
    logical_id: str
    description: str
    namespace: str
    metric: str
    dimension: tuple[str, str]  # (name, the !Ref or !GetAtt that gives its value)
    statistic: str
    period: int
    threshold: int

    def yaml(self) -> str:
        name, value = self.dimension
        return (
            f"  {self.logical_id}:\n"
            "    Type: AWS::CloudWatch::Alarm\n"
            "    Properties:\n"
            f"      AlarmDescription: {json.dumps(self.description, ensure_ascii=False)}\n"
            f"      Namespace: {self.namespace}\n"
            f"      MetricName: {self.metric}\n"
            f"      Dimensions: [{{Name: {name}, Value: {value}}}]\n"
            f"      Statistic: {self.statistic}\n"
            f"      Period: {self.period}\n"
            "      EvaluationPeriods: 1\n"
            f"      Threshold: {self.threshold}\n"
            "      ComparisonOperator: GreaterThanThreshold\n"
            "      TreatMissingData: notBreaching\n"
            f"      AlarmActions: [!Ref {TOPIC}]\n"
            f"      OKActions: [!Ref {TOPIC}]\n"
        )


def _target(value: object) -> str | None:
    """The logical id in ``!GetAtt X.Arn``, as the template reader gives it."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def dead_letter_sources(resources: dict) -> dict[str, str]:
    """Each dead-letter queue and what sends to it."""
    sources: dict[str, str] = {}
    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        redrive = props.get("RedrivePolicy") or {}
        if resource["Type"] == QUEUE and (queue := _target(redrive.get("deadLetterTargetArn"))):
            sources[queue] = f"messages of {logical_id} that failed every try"
        if resource["Type"] != FUNCTION:
            continue
        for event_name, event in (props.get("Events") or {}).items():
            event_props = event.get("Properties") or {}
            for arn in (
                (event_props.get("DeadLetterConfig") or {}).get("Arn"),
                ((event_props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
            ):
                if queue := _target(arn):
                    sources[queue] = f"{logical_id}'s {event_name} ({event['Type']}) failed after its retries"
    return sources


def alarms(template: dict) -> list[Alarm]:
    resources = template["Resources"]
    found = []
    for logical_id, resource in resources.items():
        if resource["Type"] != FUNCTION:
            continue
        ref = ("FunctionName", f"!Ref {logical_id}")
        found += [
            Alarm(
                f"{logical_id}ErrorsAlarm",
                f"{logical_id} raised an error or timed out",
                "AWS/Lambda",
                "Errors",
                ref,
                "Sum",
                300,
                0,
            ),
            Alarm(
                f"{logical_id}ThrottlesAlarm",
                f"{logical_id} was throttled (its concurrency or the account's ran out)",
                "AWS/Lambda",
                "Throttles",
                ref,
                "Sum",
                300,
                0,
            ),
        ]
    dead_letters = dead_letter_sources(resources)
    for logical_id, resource in resources.items():
        if resource["Type"] != QUEUE:
            continue
        name = ("QueueName", f"!GetAtt {logical_id}.QueueName")
        if logical_id in dead_letters:
            meaning = MEANING.get(logical_id, dead_letters[logical_id])
            found.append(
                Alarm(
                    f"{logical_id.removesuffix('Queue')}Alarm",
                    f"{logical_id} holds a message: {meaning}",
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    name,
                    "Maximum",
                    60,
                    0,
                )
            )
        else:
            found.append(
                Alarm(
                    f"{logical_id}AgeAlarm",
                    f"the oldest message of {logical_id} waited over {QUEUE_AGE_SECONDS} s (stuck or retrying)",
                    "AWS/SQS",
                    "ApproximateAgeOfOldestMessage",
                    name,
                    "Maximum",
                    300,
                    QUEUE_AGE_SECONDS,
                )
            )
    return found


def block(template: dict) -> str:
    header = (
        f"{BEGIN}: generated by `python -m tools.alarms` from the functions and queues above; do not edit by hand\n"
    )
    return header + "\n".join(alarm.yaml() for alarm in alarms(template)) + END


def regenerate(text: str, template: dict) -> str:
    """``text`` (template.yaml) with its alarm block replaced by the one the template calls for now."""
    start, end = text.index(BEGIN), text.index(END)
    return text[:start] + block(template) + text[end + len(END) :]


def main() -> int:
    text = TEMPLATE.read_text(encoding="utf-8")
    updated = regenerate(text, load_yaml(TEMPLATE))
    if updated != text:
        TEMPLATE.write_text(updated, encoding="utf-8")
        print(f"rewrote the alarm block of {TEMPLATE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
