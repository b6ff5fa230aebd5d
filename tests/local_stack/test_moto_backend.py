"""The local moto server: it forgets per-request models (its dashboard stays quick and its memory flat), answers
as stock moto does with its transactions' per-item backup, stops at once, and refuses any moto but the pinned one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import boto3
import moto
import pytest
import requests

from local.event_sources import records_as_sent, stream_record
from local.moto_backend import PINNED_MOTO, LocalMotoServer, require_pinned_moto
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


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_a_passing_one_changes_all_it_names(aws):
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

    assert DynamoDBBackend.transact_write_items.per_item_backup  # the per-item backup answered
    # Then nothing it named changed, and a transaction that passes changes all it names
    assert dynamodb.get_item(TableName="tx", Key=key("a", "1"))["Item"]["n"] == {"N": "0"}
    assert "Item" not in dynamodb.get_item(TableName="tx", Key=key("c", "1"))
    dynamodb.transact_write_items(TransactItems=refused[:2])
    assert dynamodb.get_item(TableName="tx", Key=key("a", "1"))["Item"]["n"] == {"N": "1"}
    assert "Item" in dynamodb.get_item(TableName="tx", Key=key("c", "1"))


def test_stream_records_read_back_as_written_every_attribute_type_and_both_images(aws):
    """The client reads back each write's record, and the runner's client, which takes GetRecords answers as sent
    (``records_as_sent``), hands a function the same event records."""
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
    """Transactions, passed and cancelled, and the reads and queries after them (a base-table query reading its
    partition alone) answer exactly as stock moto's (each in a process of its own)."""

    def run(mode: str) -> tuple[str, str]:
        transactions_module, answers = in_fresh_interpreter("moto_item_answers.py", mode).splitlines()
        return transactions_module, answers

    stock_transactions, stock = run("stock")
    patched_transactions, patched = run("patched")
    assert (stock_transactions, patched_transactions) == (
        "moto.dynamodb.models moto.dynamodb.models.table",
        "local.moto_backend local.moto_backend",
    )
    assert '"Code": "ConditionalCheckFailedException"' in stock and '"Attributes"' in stock  # errors and items
    assert patched == stock


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
    pin = next(
        line.split("==")[1].strip()
        for line in (Path(__file__).resolve().parents[2] / "requirements" / "dev.txt").read_text().splitlines()
        if line.startswith("moto[server]==")
    )
    # Then all three agree and the installed one passes
    assert pin == PINNED_MOTO == moto.__version__
    require_pinned_moto()
    # And any other release is refused with a message naming both, and what to do
    with pytest.raises(SystemExit) as refused:
        require_pinned_moto("5.3.0")
    assert str(refused.value) == (
        f"local.moto_backend patches moto {PINNED_MOTO}'s internals and found moto 5.3.0: install the pinned one"
        " (requirements/dev.txt) or review every patch against 5.3.0 first (docs/local-moto.md lists them)"
    )
    # And a server will not even be made on it
    with mock.patch.object(moto, "__version__", "5.3.0"), pytest.raises(SystemExit, match=r"found moto 5\.3\.0"):
        LocalMotoServer()


REFUSED = """
import moto
moto.__version__ = "5.3.0"
from local.moto_backend import main
try:
    main([])
finally:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    print(DynamoDBBackend.transact_write_items.__module__, type(Item.instances_tracked).__name__)
"""


def test_the_moto_process_refuses_another_moto_at_start_before_patching_it():
    # Given an installed moto that is not the pinned one
    root = Path(__file__).parents[2]
    # When the local stack's DynamoDB process is started on it
    done = subprocess.run(
        [sys.executable, "-c", REFUSED],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Then it exits with status 1 before serving, saying why, and moto was left as it was
    assert done.returncode == 1
    assert f"patches moto {PINNED_MOTO}'s internals and found moto 5.3.0" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.split() == ["moto.dynamodb.models", "list"]


def test_a_cancelled_transaction_leaves_no_stream_record_as_on_aws():
    """DynamoDB streams never show a cancelled transaction's writes; the per-item backup takes back the
    records its applied steps added, as stock moto's whole-table restore does."""
    from moto import mock_aws

    from local.moto_backend import patch_moto_transactions

    patch_moto_transactions()
    with mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
        )
        dynamodb = session.client("dynamodb")
        dynamodb.create_table(
            TableName="s",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        dynamodb.put_item(TableName="s", Item={"pk": {"S": "kept"}})
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "s", "Item": {"pk": {"S": "undone"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "s",
                            "Key": {"pk": {"S": "kept"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].tables["s"].stream_shard
        records = [record.to_json() for record in shard.items]
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["kept"]
        assert "undone" not in {i["pk"]["S"] for i in dynamodb.scan(TableName="s")["Items"]}
