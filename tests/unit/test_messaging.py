"""Sending to a queue: batches of at most 10 messages and 200 KB, so large messages (a bank file's pages of 100
records) never make a batch SQS refuses."""

from __future__ import annotations

import json

from billing.dal.messaging import MAX_BATCH_BYTES, send_messages


class FakeSqs:
    def __init__(self):
        self.batches = []

    def send_message_batch(self, QueueUrl, Entries):
        self.batches.append([entry["MessageBody"] for entry in Entries])
        return {}


def test_batches_hold_at_most_ten_messages_and_200_kb_and_keep_the_order():
    bodies = [{"page": n, "credits": "ｱ" * 30_000} for n in range(25)]  # about 90 KB each (3 bytes a character)
    client = FakeSqs()
    send_messages("queue", bodies, client=client)
    assert [json.loads(text)["page"] for batch in client.batches for text in batch] == list(range(25))
    assert all(sum(len(text.encode()) for text in batch) <= MAX_BATCH_BYTES for batch in client.batches)
    small = FakeSqs()
    send_messages("queue", [{"n": n} for n in range(25)], client=small)
    assert [len(batch) for batch in small.batches] == [10, 10, 5]
