"""botocore clients, made lazily and once per process.

They are created on first use, not at import, so tests can point them at moto
(``AWS_ENDPOINT_URL``) after importing a handler.

botocore, not boto3: boto3's import adds its resource layer and s3transfer
(with multiprocessing and concurrent.futures) to every cold start, and the
code here uses none of it. A botocore client is what ``boto3.client`` returns
(paginators, waiters and ``generate_presigned_url`` are botocore's), and the
item (de)serialisation below follows ``boto3.dynamodb.types`` rule for rule.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow

import botocore.session
from botocore.config import Config

# DynamoDB answers in milliseconds, so 5 s is a dead connection on AWS; the local stack raises it (its moto
# serves DynamoDB one request at a time, and a queue of them is not a failure).
_READ_TIMEOUT_S = float(os.environ.get("BILLING_AWS_READ_TIMEOUT_S", "5"))
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=_READ_TIMEOUT_S,
    parameter_validation=False,
)


@functools.cache
def _session() -> botocore.session.Session:
    """One session per process, like boto3's default one: credentials and region from the environment."""
    return botocore.session.get_session()


def _client(service: str, config: Config = _CONFIG):
    return _session().create_client(service, config=config)


@functools.cache
def dynamodb():
    return _client("dynamodb")


# ---------------------------------------------------------------- items
# DynamoDB numbers: 38 significant digits, and nothing may be rounded on the way (boto3's DYNAMODB_CONTEXT).
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def to_item(values: dict) -> dict:
    return {key: _attribute(value) for key, value in values.items()}


def from_item(item: dict | None) -> dict:
    """A DynamoDB item as plain Python, with whole numbers as int (never Decimal)."""
    return {key: _plain(_value(value)) for key, value in (item or {}).items()}


def _number(value: int | Decimal) -> str:
    number = str(_NUMBERS.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _is_number(value: object) -> bool:
    """boto3's test, bool included (a bool only reaches it inside a set)."""
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal))


def _attribute(value: object) -> dict:
    """A Python value as a DynamoDB attribute value, by the same rules and in the same order as boto3's."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": value}
    if isinstance(value, Set):
        if all(map(_is_number, value)):
            return {"NS": [_number(number) for number in value]}
        if all(isinstance(member, str) for member in value):
            return {"SS": list(value)}
        if all(isinstance(member, (bytes, bytearray)) for member in value):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {key: _attribute(inner) for key, inner in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [_attribute(inner) for inner in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def _value(attribute: dict):
    if not attribute:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, value = next(iter(attribute.items()))
    if kind == "NULL":
        return None
    if kind in ("S", "BOOL", "B"):  # B as bytes: boto3 wraps it in its Binary; nothing here stores binary
        return value
    if kind == "N":
        return _NUMBERS.create_decimal(value)
    if kind == "M":
        return {key: _value(inner) for key, inner in value.items()}
    if kind == "L":
        return [_value(inner) for inner in value]
    if kind == "NS":
        return {_NUMBERS.create_decimal(number) for number in value}
    if kind in ("SS", "BS"):
        return set(value)
    raise TypeError(f"Dynamodb type {kind} is not supported")


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else value
    return value


@functools.cache
def s3():
    # SigV4 presigned URLs carry their own expiry (X-Amz-Expires) and work with SSE.
    return _client("s3", _CONFIG.merge(Config(signature_version="s3v4")))


@functools.cache
def sqs():
    return _client("sqs")


@functools.cache
def events():
    return _client("events")


@functools.cache
def sesv2():
    return _client("sesv2")
