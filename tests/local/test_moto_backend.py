"""The local moto server: it forgets per-request models (its dashboard stays quick and its memory flat), answers
as stock moto does, and keeps connections open."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
import requests

from local.event_sources import records_as_sent, stream_record
from local.moto_backend import LocalMotoServer
from local.stack import aws_client


@pytest.fixture
def aws():
    """A started ``LocalMotoServer`` (patched, as ``up`` runs it), with a ``client(service)`` for it."""
    server = LocalMotoServer()
    server.start()
    server.client = lambda service: aws_client(service, server.url, "ap-northeast-1", "local", "local")
    yield server
    server.stop()


def streamed_table(dynamodb, name: str) -> None:
    """A table keyed by ``pk`` alone, with a stream of both images."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def test_writes_and_stream_reads_leave_nothing_behind_but_the_emails_stay_readable(aws):
    dynamodb = aws.client("dynamodb")
    streamed_table(dynamodb, "t")
    for count in range(40):  # Given many writes, each copied into the stream
        dynamodb.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET c = :c",
            ExpressionAttributeValues={":c": {"N": str(count)}},
        )
    streams = aws.client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)["Records"]
    assert len(records) == 41  # the stream itself still holds every change
    ses = aws.client("ses")
    ses.verify_email_identity(EmailAddress="billing@example.com")
    ses.send_email(
        Source="billing@example.com",
        Destination={"ToAddresses": ["customer@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "the body"}}},
    )
    # When the dashboard is read
    models = requests.get(f"{aws.url}/moto-api/data.json", timeout=30).json()
    # Then no item copy, stream record or iterator was kept for it, and the email is there
    assert models["dynamodb"].get("Item", []) == []
    assert models["dynamodb"].get("StreamRecord", []) == []
    assert models.get("dynamodbstreams", {}).get("ShardIterator", []) == []
    assert [message["body"] for message in models["ses"]["Message"]] == ["the body"]


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_a_query_reads_its_partition(aws):
    """The local server backs up only the items a transaction names (not every table): the same answers."""
    dynamodb = aws.client("dynamodb")
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


def test_requests_of_several_services_in_turn_each_reach_their_own_backend(aws):
    """The server remembers each host's backend instead of looking it up per request: the same answers."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="dispatch-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    # When requests of two services alternate
    for index in range(20):
        s3.put_object(Bucket="dispatch-bucket", Key=f"k{index}", Body=b"x" * index)
        sqs.send_message(QueueUrl=url, MessageBody=str(index))
    # Then each reached its service's backend, and the lookup was remembered
    assert len(s3.list_objects_v2(Bucket="dispatch-bucket")["Contents"]) == 20
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "20"
    )
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    assert DomainDispatcherApplication.get_backend_for_host.cache_info().hits >= 40


def test_stream_records_read_back_as_written_every_attribute_type_and_both_images(aws):
    """GetRecords is written as JSON directly (not through moto's serializer): the client reads the same records."""
    dynamodb = aws.client("dynamodb")
    streamed_table(dynamodb, "s")
    first = {
        "pk": {"S": "a"},
        "n": {"N": "12.5"},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
        "tags": {"SS": ["b", "c"]},
        "text": {"S": '請求書 \u2028 "quoted"'},
    }
    second = {**first, "n": {"N": "13"}, "flag": {"BOOL": False}}
    dynamodb.put_item(TableName="s", Item=first)
    dynamodb.put_item(TableName="s", Item=second)
    streams = aws.client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName="s")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    # When the records are read one at a time, then the rest
    page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1)
    rest = streams.get_records(ShardIterator=page["NextShardIterator"])
    # Then each is the write as it was, with its keys, sequence, time and both images
    inserted, modified = page["Records"][0], rest["Records"][0]
    assert len(page["Records"]) == 1 and len(rest["Records"]) == 1
    assert (inserted["eventName"], modified["eventName"]) == ("INSERT", "MODIFY")
    assert inserted["dynamodb"]["NewImage"] == first and "OldImage" not in inserted["dynamodb"]
    assert modified["dynamodb"]["OldImage"] == first and modified["dynamodb"]["NewImage"] == second
    assert modified["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    assert int(modified["dynamodb"]["SequenceNumber"]) > int(inserted["dynamodb"]["SequenceNumber"])
    assert modified["dynamodb"]["ApproximateCreationDateTime"].year >= 2025  # a timestamp, parsed as one
    assert streams.get_records(ShardIterator=rest["NextShardIterator"])["Records"] == []
    # And the runner's client, which takes the records as sent, hands the function the same event records
    raw = records_as_sent(aws.client("dynamodbstreams"))
    again = raw.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    sent = raw.get_records(ShardIterator=again["ShardIterator"])
    assert isinstance(sent["Records"][0]["dynamodb"]["ApproximateCreationDateTime"], (int, float))
    assert [stream_record(record, arn, "ap-northeast-1") for record in sent["Records"]] == [
        stream_record(record, arn, "ap-northeast-1") for record in (inserted, modified)
    ]
    assert raw.get_records(ShardIterator=sent["NextShardIterator"])["Records"] == []


def in_fresh_interpreter(script: str, *args: str) -> str:
    """The standard output of a script beside this file, run by a new interpreter (moto's patches are
    process-wide, so stock moto can only be seen in a process that never patched it)."""
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(script)), *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_item_operations_answer_byte_for_byte_as_stock_moto_does():
    """The item results written directly parse to exactly what moto's own serializer gives (each in its process)."""

    def run(mode: str) -> tuple[str, str]:
        serializer, answers = in_fresh_interpreter("moto_item_answers.py", mode).splitlines()
        return serializer, answers

    stock_serializer, stock = run("stock")
    patched_serializer, patched = run("patched")
    assert (stock_serializer, patched_serializer) == ("BaseResponse.serialized", "_item_results_as_json")
    assert '"Code": "ConditionalCheckFailedException"' in stock and '"Attributes"' in stock  # errors and items
    assert patched == stock


def test_stream_records_and_item_images_are_what_stock_moto_makes_sizes_included():
    """Records sized when first read, and images converted without the copy: the same as moto's, in a fresh process."""
    made = json.loads(in_fresh_interpreter("moto_stream_records.py"))
    sizes = [json.loads(record)["dynamodb"]["SizeBytes"] for record in made["stock"]["records"]]
    assert len(sizes) == 16 and min(sizes) > 100  # every view of every kind of write, each sized
    assert made["patched"] == made["stock"]


def test_deleting_messages_by_current_old_repeated_and_unknown_receipt_handles(aws):
    """The local server finds a message to delete in one walk of the queue: SQS's answers are unchanged."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="deletes")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=0)["Messages"]
    first = {message["Body"]: message["ReceiptHandle"] for message in received}
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=30)["Messages"]
    second = {message["Body"]: message["ReceiptHandle"] for message in again}
    assert set(first) == set(second) == {"a", "b", "c"} and first["a"] != second["a"]
    # When one is deleted by its current handle, another by its earlier one, and the first again
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["a"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["b"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["a"])  # no error: already deleted
    # Then only the third is left, and an unknown handle is refused
    from moto.sqs.models import Queue

    assert Queue.delete_message.__module__ == "local.moto_backend"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["c"], VisibilityTimeout=0)
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert [message["Body"] for message in left] == ["c"]
    try:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
        raise AssertionError("an unknown receipt handle was accepted")
    except sqs.exceptions.ReceiptHandleIsInvalid:
        pass


def test_a_queues_counts_tell_waiting_delayed_and_in_flight_messages_apart(aws):
    # Given a queue with three messages sent now and two delayed, two of the three received (in flight)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    for number in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(number), DelaySeconds=60 if number >= 3 else 0)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert len(received) == 2
    # When its attributes are read / Then each count is its own kind of message, as SQS reports them
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "2"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
    # And a message back in view counts as waiting again
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_calls_share_one_connection_and_s3_keys_keep_their_exact_spelling(aws):
    aws.client("s3").create_bucket(Bucket="keys", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3 = aws.client("s3")  # a client of its own, not yet connected
    connects = []
    original = socket.socket.connect

    def counted(sock, address):
        connects.append(address)
        return original(sock, address)

    keys = ["plain.pdf", "a b+c.pdf", "%2F/encoded%20already", "請求書/2026-10.pdf"]
    with mock.patch.object(socket.socket, "connect", counted):
        for key in keys:  # When the client makes call after call
            s3.put_object(Bucket="keys", Key=key, Body=key.encode())
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="keys")["Contents"]]
        bodies = [s3.get_object(Bucket="keys", Key=key)["Body"].read().decode() for key in keys]
    assert len(connects) == 1  # Then one connection carries them all (werkzeug's server made one per call)
    assert sorted(listed) == sorted(keys) and bodies == keys  # and each key is the one sent, '+' and '%' too


def test_stopping_with_a_long_poll_in_flight_returns_at_once_and_refuses_new_connections():
    server = LocalMotoServer()
    server.start()
    url = server.url
    sqs = aws_client("sqs", url, "ap-northeast-1", "local", "local")
    queue = sqs.create_queue(QueueName="quiet")["QueueUrl"]
    poll = threading.Thread(target=lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20), daemon=True)
    poll.start()  # Given a 20 s long poll on the server
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()  # When the server stops
    assert time.monotonic() - started < 3  # Then it does not wait for the poll
    with pytest.raises(requests.ConnectionError):  # and takes no new connection
        requests.get(url, timeout=2)


def test_the_backend_serves_only_the_moto_it_was_written_against():
    # Given the pin in requirements/dev.txt, the installed moto and the backend's own constant
    from local.moto_backend import PINNED_MOTO, require_pinned_moto

    pin = next(
        line.split("==")[1].strip()
        for line in (Path(__file__).resolve().parents[2] / "requirements" / "dev.txt").read_text().splitlines()
        if line.startswith("moto[server]==")
    )
    # Then all three agree, the installed one passes, and any other release is refused by name
    assert pin == PINNED_MOTO
    require_pinned_moto()
    with pytest.raises(SystemExit, match=r"found moto 5\.3\.0"):
        require_pinned_moto("5.3.0")
