"""A dead-letter queue read in place: looked at, then released or removed, never left hidden for long.

SQS has no "peek". A look receives every message it can (ten at a time, up to
``MAX_LOOKED_AT``) with a short visibility timeout, so one look never counts a
message twice; the caller then deletes the ones it dealt with and releases the
rest (visibility back to 0), so an alarm, the console or the next look sees
them again at once. Two looks at the same moment may each see only part of
the queue: the count is an operator's view, not a ledger (the failure records
are the ledger).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from billing.dal.clients import sqs

LOOK_VISIBILITY_S = 30  # long enough for one look to finish; released right after
MAX_LOOKED_AT = 1_000  # one API call looks at no more than this: 100 receives


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: dict | None  # None when the body is not a JSON object


class DeadLetterQueue:
    def __init__(self, queue_url: str, client=None):
        self.queue_url = queue_url
        self.client = client or sqs()

    def look(self) -> list[DeadLetter]:
        """Every message the queue hands out now, each once; the caller must ``release`` or ``delete`` them."""
        seen: dict[str, DeadLetter] = {}
        while len(seen) < MAX_LOOKED_AT:
            messages = self.client.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=LOOK_VISIBILITY_S
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                seen.setdefault(
                    message["MessageId"],
                    DeadLetter(message["MessageId"], message["ReceiptHandle"], _body(message["Body"])),
                )
        return list(seen.values())

    def release(self, letters: list[DeadLetter]) -> None:
        """Make them visible again now."""
        for batch in _batches(letters):
            entries = [
                {"Id": str(i), "ReceiptHandle": d.receipt_handle, "VisibilityTimeout": 0} for i, d in enumerate(batch)
            ]
            self.client.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)

    def delete(self, letters: list[DeadLetter]) -> None:
        for batch in _batches(letters):
            entries = [{"Id": str(i), "ReceiptHandle": d.receipt_handle} for i, d in enumerate(batch)]
            failed = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed", [])
            if failed:
                raise RuntimeError(f"SQS kept {len(failed)} dead letters of {self.queue_url}: {failed}")


def _body(raw: str) -> dict | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _batches(letters: list[DeadLetter]) -> list[list[DeadLetter]]:
    return [letters[start : start + 10] for start in range(0, len(letters), 10)]
