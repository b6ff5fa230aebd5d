"""boto3 clients, made lazily and once per process.

They are created on first use, not at import, so tests can point them at moto
(``AWS_ENDPOINT_URL``) after importing a handler.
"""

from __future__ import annotations

import functools

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)


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
