"""The local moto server forgets per-request models, so its dashboard stays quick and its memory flat."""

from __future__ import annotations

import boto3
import requests

from local.moto_backend import LocalMotoServer


def test_writes_and_stream_reads_leave_nothing_behind_but_the_emails_stay_readable():
    server = LocalMotoServer()
    server.start()
    try:
        options = {
            "endpoint_url": server.url,
            "region_name": "ap-northeast-1",
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
        dynamodb = boto3.client("dynamodb", **options)
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for count in range(40):  # Given many writes, each copied into the stream
            dynamodb.update_item(
                TableName="t",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET c = :c",
                ExpressionAttributeValues={":c": {"N": str(count)}},
            )
        streams = boto3.client("dynamodbstreams", **options)
        arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)["Records"]
        assert len(records) == 41  # the stream itself still holds every change
        ses = boto3.client("ses", **options)
        ses.verify_email_identity(EmailAddress="billing@example.com")
        ses.send_email(
            Source="billing@example.com",
            Destination={"ToAddresses": ["customer@example.com"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "the body"}}},
        )
        # When the dashboard is read
        models = requests.get(f"{server.url}/moto-api/data.json", timeout=30).json()
        # Then no item copy, stream record or iterator was kept for it, and the email is there
        assert models["dynamodb"].get("Item", []) == []
        assert models["dynamodb"].get("StreamRecord", []) == []
        assert models.get("dynamodbstreams", {}).get("ShardIterator", []) == []
        assert [message["body"] for message in models["ses"]["Message"]] == ["the body"]
    finally:
        server.stop()


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_a_query_reads_its_partition():
    """The local server backs up only the items a transaction names (not every table): the same answers."""
    server = LocalMotoServer()
    server.start()
    try:
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=server.url,
            region_name="ap-northeast-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        dynamodb.create_table(
            TableName="tx",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )

        def key(pk, sk):
            return {"pk": {"S": pk}, "sk": {"S": sk}}

        for pk, sk in (("a", "1"), ("a", "2"), ("b", "1")):
            dynamodb.put_item(TableName="tx", Item={**key(pk, sk), "n": {"N": "0"}})
        update = {
            "TableName": "tx",
            "UpdateExpression": "SET n = :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        # Given a transaction whose last write's condition fails
        refused = [
            {"Update": {**update, "Key": key("a", "1")}},
            {"Put": {"TableName": "tx", "Item": key("c", "1"), "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {**update, "Key": key("b", "1"), "ConditionExpression": "n = :one"}},
        ]
        try:
            dynamodb.transact_write_items(TransactItems=refused)
            raise AssertionError("the transaction went through")
        except dynamodb.exceptions.TransactionCanceledException:
            pass
        from moto.dynamodb.models import DynamoDBBackend

        assert DynamoDBBackend.transact_write_items.per_item_backup  # the scaled path answered
        import jsonpath_ng.ext

        assert jsonpath_ng.ext.parse("$.detail.a") is jsonpath_ng.ext.parse("$.detail.a")  # parsed once
        assert [m.value for m in jsonpath_ng.ext.parse("$.detail.a").find({"detail": {"a": 1}})] == [1]
        # Then nothing it named changed, and a transaction that passes changes all it names
        assert dynamodb.get_item(TableName="tx", Key=key("a", "1"))["Item"]["n"] == {"N": "0"}
        assert "Item" not in dynamodb.get_item(TableName="tx", Key=key("c", "1"))
        dynamodb.transact_write_items(TransactItems=refused[:2])
        assert dynamodb.get_item(TableName="tx", Key=key("a", "1"))["Item"]["n"] == {"N": "1"}
        assert "Item" in dynamodb.get_item(TableName="tx", Key=key("c", "1"))
        # And a query of one partition answers with that partition only, in order
        items = dynamodb.query(
            TableName="tx", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
        )["Items"]
        assert [(item["pk"]["S"], item["sk"]["S"]) for item in items] == [("a", "1"), ("a", "2")]
    finally:
        server.stop()
