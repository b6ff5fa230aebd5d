"""Sending work to queues and announcing facts on the event bus."""

from __future__ import annotations

import json

from billing.dal.clients import events, sqs

SOURCE = "invoicing"


def send_messages(queue_url: str, bodies: list[dict], client=None) -> None:
    """Send in batches of 10, resending entries SQS reports as failed."""
    client = client or sqs()
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(body, ensure_ascii=False)}
            for i, body in enumerate(bodies[start : start + 10])
        ]
        for _ in range(5):
            failed = client.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if not failed:
                break
            failed_ids = {entry["Id"] for entry in failed}
            entries = [entry for entry in entries if entry["Id"] in failed_ids]
        else:
            raise RuntimeError(f"SQS refused {len(entries)} messages to {queue_url}: {failed}")


def publish(bus_name: str, detail_type: str, detail: dict, client=None) -> None:
    client = client or events()
    response = client.put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, ensure_ascii=False),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused {detail_type}: {response['Entries']}")
