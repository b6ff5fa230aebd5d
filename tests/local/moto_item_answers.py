"""Item operations on a ``LocalMotoServer``, and what the client parsed: ``moto_item_answers.py stock|patched``.

``test_moto_backend`` runs it twice, in fresh interpreters (moto's patches are process-wide), and compares.
"""

from __future__ import annotations

import json
import sys

from local.moto_backend import LocalMotoServer
from local.stack import aws_client

# UpdateExpressions that exercise each of moto's update validators (answers and errors alike), on one item.
VALIDATED_UPDATES = [
    {"UpdateExpression": "SET days = :m", "ExpressionAttributeValues": {":m": {"M": {"x": {"N": "1"}}}}},
    {
        "UpdateExpression": "SET closed_at = if_not_exists(closed_at, :now), #last = if_not_exists(#last, :last)",
        "ExpressionAttributeNames": {"#last": "last"},
        "ExpressionAttributeValues": {":now": {"S": "2026-11-01T00:00:00+09:00"}, ":last": {"N": "7"}},
        "ReturnValues": "ALL_NEW",
    },
    {
        "UpdateExpression": "SET days.#d = :v, tags = list_append(if_not_exists(tags, :empty), :tag) ADD hits :one",
        "ExpressionAttributeNames": {"#d": "2026-10-31"},
        "ExpressionAttributeValues": {
            ":v": {"N": "12345"},
            ":empty": {"L": []},
            ":tag": {"L": [{"S": "late"}]},
            ":one": {"N": "1"},
        },
        "ReturnValues": "UPDATED_NEW",
    },
    {
        "UpdateExpression": "ADD labels :s DELETE labels :gone",
        "ExpressionAttributeValues": {":s": {"SS": ["a", "b"]}, ":gone": {"SS": ["b"]}},
    },
    {"UpdateExpression": "SET sk = :v", "ExpressionAttributeValues": {":v": {"S": "moved"}}},  # a key attribute
    {"UpdateExpression": "SET a = :v, a.b = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},  # overlapping
    {"UpdateExpression": "SET a = :v SET b = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},  # two SETs
    {"UpdateExpression": "SET n = absent + :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},  # no such path
    {"UpdateExpression": "ADD added :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},  # ADD to a string
    {
        "UpdateExpression": "SET #k = :v",
        "ExpressionAttributeNames": {"#k": "pk"},
        "ExpressionAttributeValues": {":v": {"S": "x"}},
    },
    {"UpdateExpression": "REMOVE hits, tags[0]", "ReturnValues": "ALL_OLD"},
]

# Conditions, each sent twice: the first write changes what the second one's condition sees.
CONDITIONED_UPDATES = [
    {
        "UpdateExpression": "SET version = :next",
        "ConditionExpression": "attribute_not_exists(version) OR version < :next",
        "ExpressionAttributeValues": {":next": {"N": "1"}},
    },
    {
        "UpdateExpression": "SET #s = :done",
        "ConditionExpression": "#s <> :done AND size(added) BETWEEN :one AND :big AND begins_with(added, :n)",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {
            ":done": {"S": "done"},
            ":one": {"N": "1"},
            ":big": {"N": "99"},
            ":n": {"S": "n"},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    },
    {
        "UpdateExpression": "SET picked = :p",
        "ConditionExpression": "NOT contains(labels, :p) AND (hits IN (:h1, :h2) OR attribute_type(hits, :t))",
        "ExpressionAttributeValues": {":p": {"S": "z"}, ":h1": {"N": "2"}, ":h2": {"N": "3"}, ":t": {"S": "N"}},
    },
    {
        "UpdateExpression": "SET x = :x",
        "ConditionExpression": "x = :x",
        "ExpressionAttributeValues": {":x": {"N": "1"}, ":unused": {"N": "2"}},
    },
]


def answers(patched: bool) -> list:
    server = LocalMotoServer(patched=patched)
    server.start()
    try:
        dynamodb = aws_client("dynamodb", server.url, "ap-northeast-1", "local", "local")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "shard", "AttributeType": "S"},
                {"AttributeName": "rank", "AttributeType": "N"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byShard",
                    "KeySchema": [
                        {"AttributeName": "shard", "KeyType": "HASH"},
                        {"AttributeName": "pk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "byRank",
                    "KeySchema": [{"AttributeName": "rank", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        # Index members, spread over partitions; some without the index's key, one with it as a number.
        for number in range(24):
            member = {"pk": {"S": f"acct-{number % 7}"}, "sk": {"S": f"s{number:02}"}}
            if number % 5:
                member["shard"] = {"S": f"shard-{number % 3}"}
            member["rank"] = {"N": ["1", "1.0", "01", "2"][number % 4]}
            dynamodb.put_item(TableName="t", Item=member)
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "odd"}, "sk": {"S": "x"}, "shard": {"N": "1"}})
        item = {
            "pk": {"S": "a"},
            "sk": {"S": "1"},
            "n": {"N": "12.50"},
            "blob": {"B": b"\x00\xffbinary"},
            "blobs": {"BS": [b"x", b"y"]},
            "numbers": {"NS": ["1", "2.5"]},
            "strings": {"SS": ["請求", "invoice"]},
            "m": {"M": {"inner": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}, {"M": {}}]}}},
            "text": {"S": 'quote " and \u2028 and 請求書'},
        }
        key, other = {"pk": {"S": "a"}, "sk": {"S": "1"}}, {"pk": {"S": "b"}, "sk": {"S": "1"}}
        calls = [
            ("put_item", {"Item": item, "ReturnConsumedCapacity": "TOTAL"}),
            ("put_item", {"Item": {**item, "sk": {"S": "2"}}, "ReturnValues": "ALL_OLD"}),
            ("get_item", {"Key": key}),
            ("get_item", {"Key": {"pk": {"S": "none"}, "sk": {"S": "1"}}}),
            ("get_item", {"Key": key, "ProjectionExpression": "n, m.inner"}),
            (
                "update_item",
                {
                    "Key": key,
                    "UpdateExpression": "SET n = n + :one, added = :s",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": {"S": "new"}},
                    "ReturnValues": "ALL_NEW",
                },
            ),
            (
                "update_item",
                {
                    "Key": key,
                    "UpdateExpression": "SET n = :v",
                    "ConditionExpression": "n = :never",
                    "ExpressionAttributeValues": {":v": {"N": "0"}, ":never": {"N": "-1"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                },
            ),
            ("query", {"KeyConditionExpression": "pk = :a", "ExpressionAttributeValues": {":a": {"S": "a"}}}),
            (
                "query",
                {"KeyConditionExpression": "pk = :a", "ExpressionAttributeValues": {":a": {"S": "a"}}, "Limit": 1},
            ),
            ("scan", {"Limit": 1}),
            *[
                ("put_item", {"Item": {"pk": {"S": "big"}, "sk": {"S": str(size)}, "blob": {"S": "x" * size}}})
                for size in (404_980, 404_990, 405_000, 410_000)  # around moto's item size limit
            ],
            (
                "update_item",
                {
                    "Key": {"pk": {"S": "big"}, "sk": {"S": "404980"}},
                    "UpdateExpression": "SET more = :more",
                    "ExpressionAttributeValues": {":more": {"S": "y" * 100}},
                },
            ),
            (
                "query_pages",
                {
                    "IndexName": "byShard",
                    "KeyConditionExpression": "shard = :s",
                    "ExpressionAttributeValues": {":s": {"S": "shard-1"}},
                    "Limit": 2,
                },
            ),
            (
                "query_pages",
                {
                    "IndexName": "byShard",
                    "KeyConditionExpression": "shard = :s AND pk > :p",
                    "ExpressionAttributeValues": {":s": {"S": "shard-2"}, ":p": {"S": "acct-2"}},
                    "ScanIndexForward": False,
                    "Limit": 3,
                },
            ),
            (
                "query_pages",
                {
                    "IndexName": "byRank",
                    "KeyConditionExpression": "#r = :r",
                    "ExpressionAttributeNames": {"#r": "rank"},
                    "ExpressionAttributeValues": {":r": {"N": "1.00"}},
                },
            ),
            (
                "query",
                {
                    "IndexName": "byShard",
                    "KeyConditionExpression": "shard = :s",
                    "ExpressionAttributeValues": {":s": {"S": "nowhere"}},
                },
            ),
            (
                "query",
                {
                    "IndexName": "none",
                    "KeyConditionExpression": "pk = :a",
                    "ExpressionAttributeValues": {":a": {"S": "a"}},
                },
            ),
            *[
                (
                    "update_item",
                    {
                        "Key": {"pk": {"S": "acct-1"}, "sk": {"S": sk}},
                        "UpdateExpression": "SET seen = if_not_exists(seen, :zero) + :one",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}},
                        "ReturnValues": "UPDATED_NEW",
                    },
                )
                for sk in ("s01", "s01", "s08", "new")
            ],
            *[("update_item", {"Key": key, "UpdateExpression": "SET = broken"}) for _ in range(2)],
            *[  # validators and conditions, each twice (a kept tree or condition must give the same answer)
                ("update_item", {"Key": key, **update})
                for update in VALIDATED_UPDATES + CONDITIONED_UPDATES
                for _ in range(2)
            ],
            ("update_item", {"Key": key, "UpdateExpression": "SET n = :undefined"}),
            (
                "transact_write_items",
                {
                    "TransactItems": [
                        {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
                        {"Update": {"TableName": "t", "Key": key, "UpdateExpression": "REMOVE added"}},
                    ]
                },
            ),
            (
                "transact_write_items",
                {
                    "TransactItems": [
                        {
                            "Put": {
                                "TableName": "t",
                                "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        }
                    ]
                },
            ),
            ("transact_get_items", {"TransactItems": [{"Get": {"TableName": "t", "Key": key}}]}),
            ("batch_get_item", {"RequestItems": {"t": {"Keys": [key, {"pk": {"S": "b"}, "sk": {"S": "1"}}]}}}),
            (
                "batch_write_item",
                {"RequestItems": {"t": [{"DeleteRequest": {"Key": other}}]}},
            ),
            ("delete_item", {"Key": key, "ReturnValues": "ALL_OLD"}),
            ("describe_table", {}),
        ]
        found = []
        for operation, arguments in calls:
            if operation not in ("transact_write_items", "transact_get_items", "batch_get_item", "batch_write_item"):
                arguments = {"TableName": "t", **arguments}
            try:
                if operation == "query_pages":
                    answer = {"pages": list(dynamodb.get_paginator("query").paginate(**arguments))}
                    for page in answer["pages"]:
                        page.pop("ResponseMetadata", None)
                else:
                    answer = getattr(dynamodb, operation)(**arguments)
            except dynamodb.exceptions.ClientError as error:
                answer = {"error": error.response}
            answer.pop("ResponseMetadata", None)
            if isinstance(answer.get("error"), dict):
                answer["error"].pop("ResponseMetadata", None)
            if operation == "describe_table":
                answer = {
                    "ItemCount": answer["Table"]["ItemCount"],
                    "created": type(answer["Table"]["CreationDateTime"]).__name__,
                }
            found.append([operation, answer])
        return found
    finally:
        server.stop()


if __name__ == "__main__":
    found = answers(sys.argv[1] == "patched")
    from moto.dynamodb.responses import DynamoHandler

    print(DynamoHandler.serialized.__qualname__)  # which serializer answered
    print(json.dumps(found, default=repr, sort_keys=True))
