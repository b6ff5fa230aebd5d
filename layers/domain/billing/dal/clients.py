"""boto3 clients, made lazily and once per process.

They are created on first use, not at import, so tests can point them at moto
(``AWS_ENDPOINT_URL``) after importing a handler.
"""

from __future__ import annotations

import functools
import os

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

# DynamoDB answers in milliseconds, so 5 s is a dead connection on AWS; the local stack raises it (its moto
# serves DynamoDB one request at a time, and a queue of them is not a failure).
_READ_TIMEOUT_S = float(os.environ.get("BILLING_AWS_READ_TIMEOUT_S", "5"))
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=_READ_TIMEOUT_S)


@functools.cache
def dynamodb():
    return boto3.client("dynamodb", config=_CONFIG)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict) -> dict:
    return {key: _serializer.serialize(value) for key, value in values.items()}


def from_item(item: dict | None) -> dict:
    """A DynamoDB item as plain Python, with whole numbers as int (never Decimal)."""
    return {key: _plain(_deserializer.deserialize(value)) for key, value in (item or {}).items()}


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):  # Decimal
        return int(value) if value == int(value) else value
    return value


@functools.cache
def s3():
    # SigV4 presigned URLs carry their own expiry (X-Amz-Expires) and work with SSE.
    return boto3.client("s3", config=_CONFIG.merge(Config(signature_version="s3v4")))


@functools.cache
def sqs():
    return boto3.client("sqs", config=_CONFIG)


@functools.cache
def events():
    return boto3.client("events", config=_CONFIG)


@functools.cache
def sesv2():
    return boto3.client("sesv2", config=_CONFIG)
