"""What the typed edge refuses before any domain code runs: the body parser and the field types."""

from __future__ import annotations

import pytest

from billing.errors import InvalidRequest
from billing.schema.parsing import strict_json
from billing.schema.platform import AccountIn, BatchReportIn
from tests.unit.edge import typed
from tests.unit.test_accounts import PROFILE

REPORT = '{"account_id": "acme", "count": 7, "observed_at": "2026-11-25T10:00:00+09:00"}'


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ('{"count": -1, "count": 5000000, "observed_at": "x"}', "'count' is given twice"),
        ('{"a": {"b": 1, "b": 2}}', "'b' is given twice"),
        ('{"count": NaN}', "NaN is not a JSON number"),
        ('{"count": Infinity}', "Infinity is not a JSON number"),
        ('{"count": -Infinity}', "-Infinity is not a JSON number"),
        ('{"name": "\\ud800"}', "lone UTF-16 surrogate"),
        ('{"names": ["ok", "\\udfff"]}', "lone UTF-16 surrogate"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ("", "it was empty"),
        ('{"count": 1', "not valid JSON"),
    ],
)
def test_the_body_parser_refuses_what_json_loads_would_accept(raw, complaint):
    with pytest.raises(InvalidRequest) as refused:
        strict_json(raw)
    assert complaint in refused.value.message


def test_a_surrogate_pair_is_one_character_not_a_lone_surrogate():
    assert strict_json('{"name": "\\ud83d\\ude00"}') == {"name": "😀"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_id", "acme\n"),
        ("account_id", "ａｃｍｅ"),
        ("count", True),
        ("count", float("inf")),
        ("count", 1.0),
        ("observed_at", "2026-11-25T10:00:00+09:00\n"),
        ("observed_at", "２０２６-11-25T10:00:00+09:00"),
        ("observed_at", "2026-W48-3T10:00:00+09:00"),
        ("observed_at", "2026-11-25T10:00:00+09:00xx"),
        ("observed_at", "2026-11-25 10:00:00+09:00"),
    ],
)
def test_a_report_field_that_only_looks_right_is_refused(field, value):
    body = {**strict_json(REPORT), field: value}
    with pytest.raises(InvalidRequest, match=field):
        typed(BatchReportIn, body)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("contract_start", "2026-04-01\n"),
        ("contract_start", "20260401"),
        ("contract_start", "2026-04-01T00:00:00"),
        ("billing_contact.postal_code", "100-0005\n"),
        ("billing_contact.company_name", "\ud800"),
        ("billing_contact.person_name", "\x7f"),
        ("billing_contact.email", "a@b.c\n"),
    ],
)
def test_a_profile_field_that_only_looks_right_is_refused(path, value):
    body = {**PROFILE, "billing_contact": dict(PROFILE["billing_contact"])}
    parent, _, leaf = path.rpartition(".")
    (body[parent] if parent else body)[leaf] = value
    with pytest.raises(InvalidRequest, match=leaf):
        typed(AccountIn, body)


def test_the_longest_accepted_contact_fields_are_accepted():
    contact = {
        **PROFILE["billing_contact"],
        "company_name": "株" * 50,
        "department": "部" * 40,
        "person_name": "名" * 30,
        "address": "住" * 80,
    }
    assert typed(AccountIn, {**PROFILE, "billing_contact": contact}).billing_contact.address == "住" * 80
