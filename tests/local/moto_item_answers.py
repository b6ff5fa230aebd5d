"""Item operations on a ``LocalMotoServer``, and what the client parsed: ``moto_item_answers.py stock|patched``.

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
            ],
            BillingMode="PAY_PER_REQUEST",
        )
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
