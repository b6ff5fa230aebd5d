"""DynamoDB items are (de)serialised by billing.dal.clients exactly as boto3's TypeSerializer would."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from billing.dal.clients import _attribute, _value, from_item, to_item

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**37), max_value=10**37)
    | st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20)
    | st.text(max_size=20)
    | st.binary(max_size=8)
)
values = st.recursive(
    scalars
    | st.frozensets(st.text(max_size=5), min_size=1, max_size=4)
    | st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=6))
def test_an_item_is_serialised_as_boto3_serialises_it(item):
    # Given any item our stores could write
    # When it is serialised here and by boto3, Then the attribute values are the same
    expected = {key: TypeSerializer().serialize(value) for key, value in item.items()}
    assert to_item(item) == expected


@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=6))
def test_an_item_reads_back_as_boto3_reads_it(item):
    # Given an item as DynamoDB returns it
    raw = {key: TypeSerializer().serialize(value) for key, value in item.items()}
    # When it is read here and by boto3 (binary aside: boto3 wraps it in its Binary class)
    ours = {key: _value(value) for key, value in raw.items()}
    theirs = {key: TypeDeserializer().deserialize(value) for key, value in raw.items()}
    # Then the values are the same
    assert ours == theirs


def test_whole_numbers_read_back_as_int_and_fractions_as_decimal():
    assert from_item(to_item({"n": 12345, "f": Decimal("1.5"), "m": {"l": [Decimal("2")]}})) == {
        "n": 12345,
        "f": Decimal("1.5"),
        "m": {"l": [2]},
    }


@pytest.mark.parametrize("value", [1.5, float("nan"), object(), Decimal("Infinity"), 10**40])
def test_what_boto3_refuses_is_refused(value):
    with pytest.raises(Exception) as boto3_error:
        TypeSerializer().serialize(value)
    with pytest.raises(type(boto3_error.value)):
        _attribute(value)
