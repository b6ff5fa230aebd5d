"""Item operations on a ``LocalMotoServer``, and what the client parsed: ``moto_item_answers.py stock|patched``.

Transactions, passed and cancelled (``patch_moto_transactions``), and the writes, reads and queries around them
(a base-table query reads one partition with ``patch_moto_partition_queries``).
``test_moto_backend`` runs it twice, in fresh interpreters (moto's patches are process-wide), and compares.
"""

from __future__ import annotations

import json
import sys

from local.moto_backend import LocalMotoServer
from local.stack import aws_client


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
            (  # one partition of several (patch_moto_partition_queries reads it alone): pages, order, filters
                "query_pages",
                {
                    "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                    "FilterExpression": "#r <> :two",
                    "ExpressionAttributeNames": {"#r": "rank"},
                    "ExpressionAttributeValues": {":p": {"S": "acct-3"}, ":s": {"S": "s"}, ":two": {"N": "2"}},
                    "ScanIndexForward": False,
                    "Limit": 2,
                },
            ),
            (
                "query",
                {
                    "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                    "ExpressionAttributeValues": {":p": {"S": "acct-5"}, ":a": {"S": "s05"}, ":b": {"S": "s19"}},
                    "ConsistentRead": True,
                },
            ),
            ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}}),
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
            (  # cancelled by its last item: the first two are undone
                "transact_write_items",
                {
                    "TransactItems": [
                        {
                            "Update": {
                                "TableName": "t",
                                "Key": key,
                                "UpdateExpression": "SET n = :zero",
                                "ExpressionAttributeValues": {":zero": {"N": "0"}},
                            }
                        },
                        {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}}}},
                        {
                            "ConditionCheck": {
                                "TableName": "t",
                                "Key": other,
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                },
            ),
            ("get_item", {"Key": key}),
            ("get_item", {"Key": {"pk": {"S": "new"}, "sk": {"S": "1"}}}),
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
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    # which answered: moto's own, or the patched ones
    print(DynamoDBBackend.transact_write_items.__module__, Table.query.__module__)
    print(json.dumps(found, default=repr, sort_keys=True))
