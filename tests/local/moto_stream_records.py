"""Item images and stream records from moto's own code, then from the patched: ``moto_stream_records.py``.

``test_moto_backend`` runs it in a fresh interpreter (moto's patches are process-wide) and compares the two
halves of what it prints: each write's record (its size included) and each item's plain JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from unittest import mock

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, Table

from local.moto_backend import patch_moto_scaling

ATTRIBUTES = [
    {"pk": {"S": "a"}, "sk": {"S": "1"}},
    {
        "pk": {"S": "a"},
        "sk": {"S": "1"},
        "n": {"N": "12.50"},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}, {"M": {}}]}}},
        "tags": {"SS": ["b", "c"]},
        "blob": {"B": "AP9iaW5hcnk="},
        "blobs": {"BS": ["eA==", "eQ=="]},
        "text": {"S": '請求書 \u2028 "quoted"'},
    },
    {"pk": {"S": "b"}, "sk": {"S": "2"}, "days": {"M": {f"2026-10-{d:02d}": {"N": str(d * 37)} for d in range(1, 32)}}},
]


def table() -> Table:
    return Table(
        "t",
        account_id="123456789012",
        region="ap-northeast-1",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    )


def item(attributes: dict) -> Item:
    return Item(DynamoType(attributes["pk"]), DynamoType(attributes["sk"]), attrs=attributes)


def made() -> dict:
    """Each item's plain JSON (then changed, to show it shares nothing) and the records of writes between them."""
    t, items = table(), [item(a) for a in ATTRIBUTES]
    plain = []
    for one in items:
        regular = {key: value.to_regular_json() for key, value in one.attrs.items()}
        plain.append(json.dumps(regular, default=repr, sort_keys=True))
        for value in regular.values():  # change the copy: the item must not change with it
            for inner in value.values():
                if isinstance(inner, (list, dict)):
                    inner.clear()
        plain.append(json.dumps(one.to_json(), sort_keys=True))
    writes = [(None, items[0]), (items[0], items[1]), (items[1], items[2]), (items[2], None)]
    records = []
    for view in ("NEW_AND_OLD_IMAGES", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"):
        for seq, (old, new) in enumerate(writes):
            event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
            record = StreamRecord(t, view, event, old, new, seq)
            records.append(json.dumps(record.to_json(), default=repr, sort_keys=True))
    return {"plain": plain, "records": records}


def main() -> None:
    fixed = datetime(2026, 11, 1, 0, 0, 0, 123456)  # moto keeps naive UTC times
    uuid = mock.Mock(hex="0f" * 16)
    with (
        mock.patch("moto.dynamodb.models.table.utcnow", lambda: fixed),
        mock.patch("moto.core.utils.utcnow", lambda: fixed),
        mock.patch("moto.moto_api._internal.mock_random.uuid4", lambda: uuid),
    ):
        stock = made()
        patch_moto_scaling()
        patched = made()
    print(json.dumps({"stock": stock, "patched": patched}))


if __name__ == "__main__":
    main()
