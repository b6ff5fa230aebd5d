"""The BillingTable's stream under moto, as Lambda hands it to a consumer."""

from __future__ import annotations

import boto3

from local.event_sources import stream_record
from tests.integration.conftest import TABLE

REGION = "ap-northeast-1"
# botocore would send a StreamArn call to an account-specific host that moto does not serve.
STREAMS_ENDPOINT = f"https://streams.dynamodb.{REGION}.amazonaws.com"


class Stream:
    """The BillingTable's stream as Lambda would hand it over: only what arrived since the last read."""

    def __init__(self):
        self.client = boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
        self.arn = boto3.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shard = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.client.get_shard_iterator(
            StreamArn=self.arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def batch(self) -> dict:
        response = self.client.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        return {"Records": [stream_record(record, self.arn, REGION) for record in response["Records"]]}
