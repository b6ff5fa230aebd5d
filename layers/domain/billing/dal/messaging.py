"""Sending work to queues and announcing facts on the event bus."""

from __future__ import annotations

import json

from billing.dal.clients import events, sqs

SOURCE = "invoicing"


MAX_BATCH_BYTES = 200 * 1024  # SQS takes 256 KiB a batch: room for the entries' envelopes


def send_messages(queue_url: str, bodies: list[dict], client=None) -> None:
    """Send in batches of at most 10 messages and ``MAX_BATCH_BYTES``, resending entries SQS reports as failed."""
    client = client or sqs()
    for batch in _batches([json.dumps(body, ensure_ascii=False) for body in bodies]):
        entries = [{"Id": str(i), "MessageBody": text} for i, text in enumerate(batch)]
        for _ in range(5):
            failed = client.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if not failed:
                break
            failed_ids = {entry["Id"] for entry in failed}
            entries = [entry for entry in entries if entry["Id"] in failed_ids]
        else:
            raise RuntimeError(f"SQS refused {len(entries)} messages to {queue_url}: {failed}")


def _batches(texts: list[str]) -> list[list[str]]:
    batches, size = [], 0
    for text in texts:
        length = len(text.encode())
        if not batches or len(batches[-1]) == 10 or size + length > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(text)
        size += length
    return batches


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


def publish_all(bus_name: str, detail_type: str, details: list[dict], client=None) -> list[int]:
    """Publish in calls of 10 (PutEvents' limit); the indexes of the details that were not published.

    A refused entry or a failed call fails only its details: the caller has them redelivered.
    """
    client = client or events()
    failed = []
    for start in range(0, len(details), 10):
        chunk = details[start : start + 10]
        entries = [
            {
                "EventBusName": bus_name,
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(d, ensure_ascii=False),
            }
            for d in chunk
        ]
        try:
            answers = client.put_events(Entries=entries)["Entries"]
        except Exception:
            failed += range(start, start + len(chunk))
            continue
        failed += [
            start + i for i, answer in enumerate(answers) if answer.get("ErrorCode") or not answer.get("EventId")
        ]
    return failed
