"""What the typed edge refuses before any domain code runs: the body parser and the field types."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from billing.errors import InvalidRequest
from billing.schema.fields import AccountId, IsoDate, Month, Timestamp
from billing.schema.parsing import invalid, strict_json
from billing.schema.platform import CONTACT_LIMITS, AccountIn, BatchReportIn, ChangeRequestIn, CountIn
from tests.factories import profile_body
from tests.unit.edge import typed

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
    body = profile_body()
    parent, _, leaf = path.rpartition(".")
    (body[parent] if parent else body)[leaf] = value
    with pytest.raises(InvalidRequest, match=leaf):
        typed(AccountIn, body)


def test_the_longest_accepted_contact_fields_are_accepted():
    body = profile_body(
        person_name="名" * 30, contact={"company_name": "株" * 50, "department": "部" * 40, "address": "住" * 80}
    )
    assert typed(AccountIn, body).billing_contact.address == "住" * 80


# ---------------------------------------------------------------- what the issue names, one by one


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ('{"count": -1, "count": 5}', "the key 'count' is given twice"),
        ('{"count": 1, "observed_at": NaN}', "NaN is not a JSON number"),
        ('[{"count": Infinity}]', "Infinity is not a JSON number"),
        ('{"\\ud800": 1}', "lone UTF-16 surrogate"),
        ('{"reports": [{"account_id": "\\udc00"}]}', "lone UTF-16 surrogate"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
    ],
)
def test_a_body_that_json_loads_would_take_is_refused_before_any_type_sees_it(raw, complaint):
    # Given a body text that Python's json module would parse
    # When the edge parses it
    with pytest.raises(InvalidRequest) as refused:
        strict_json(raw)
    # Then it is the contract's 400, saying what is wrong
    assert complaint in refused.value.message
    assert refused.value.as_json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ('{"count": true, "observed_at": "2026-11-25T10:00:00+09:00"}', "count: Input should be a valid integer"),
        ('{"count": 1e400, "observed_at": "2026-11-25T10:00:00+09:00"}', "count: Input should be a valid integer"),
        ('{"count": 5, "observed_at": "2026-11-25T10:00:00+09:00", "unit": "records"}', "unit: Extra inputs"),
        ('{"count": 5, "observed_at": "2026-02-30T10:00:00+09:00"}', "observed_at: not a valid ISO 8601 timestamp"),
    ],
)
def test_a_count_body_that_parses_is_still_refused_by_its_type(raw, complaint):
    # Given a body that is valid JSON (1e400 reads as inf, true as a bool)
    body = strict_json(raw)
    # When it is typed as a record-count body
    with pytest.raises(ValidationError) as refused:
        CountIn.model_validate(body)
    # Then the 400's message names the field
    assert complaint in invalid(refused.value).message


@pytest.mark.parametrize(
    ("kind", "value", "complaint"),
    [
        # Month and AccountId's pattern are what the path parameters are typed with (billing.schema.params)
        (Month, "２０２６-１１", "String should match pattern"),
        (Month, "2026-11\n", "String should match pattern"),
        (AccountId, "acme\n", "String should match pattern"),
        (IsoDate, "20260401xx", "must be a date YYYY-MM-DD"),
        (IsoDate, "2026-04-01xx", "must be a date YYYY-MM-DD"),
        (IsoDate, "2026-W01-1", "must be a date YYYY-MM-DD"),
        (IsoDate, "２０２６-０４-０１", "must be a date YYYY-MM-DD"),
        (IsoDate, "2026-02-30", "not a calendar date"),
        (Timestamp, "2026-W01-1T10:00:00+09:00", "must be an ISO 8601 timestamp"),
        (Timestamp, "2026-04-01T10:00:00+09:00xx", "must be an ISO 8601 timestamp"),
    ],
)
def test_a_scalar_that_only_looks_right_is_refused(kind, value, complaint):
    # Given a value a lenient parser (\\d, $, date.fromisoformat) would take
    # When it is validated as the field's type
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(kind).validate_python(value)
    # Then it is refused, saying why
    assert complaint in invalid(refused.value).message


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        ("billing_contact.postal_code", "１００-０００５", "billing_contact.postal_code: String should match"),
        ("billing_contact.company_name", "a\u0000b", "billing_contact.company_name: String should match"),
        ("billing_contact.address", "東京都\x1b[2J", "billing_contact.address: String should match"),
        ("contract_start", "2026-02-30", "contract_start: not a calendar date"),
        ("contract_start", "2026-04-01xx", "contract_start: must be a date YYYY-MM-DD"),
        ("contract_start", "2026-W01-1", "contract_start: must be a date YYYY-MM-DD"),
        ("contract_end", "2026-12-31", "contract_end: Extra inputs are not permitted"),
        ("nickname", "acme", "nickname: Extra inputs are not permitted"),
        ("usage_alerts", "false", "usage_alerts: Input should be a valid boolean"),
    ],
)
def test_a_put_body_is_refused_naming_the_field(path, value, complaint):
    # Given the design example with one field wrong (or one field it must not have)
    body = profile_body()
    parent, _, leaf = path.rpartition(".")
    (body[parent] if parent else body)[leaf] = value
    # When it is typed as a PUT body
    with pytest.raises(InvalidRequest) as refused:
        typed(AccountIn, body)
    # Then the 400 names that field
    assert complaint in refused.value.message


def test_the_fields_that_are_refused_in_one_form_are_accepted_in_the_right_one():
    # Given the same values spelled as the contract says
    body = profile_body(contract_start="2028-02-29")
    # When they are typed
    profile = typed(AccountIn, body)
    # Then they are taken as they are
    assert profile.contract_start.isoformat() == "2028-02-29"
    assert TypeAdapter(Month).validate_python("2026-11") == "2026-11"
    assert TypeAdapter(AccountId).validate_python("acme_2-x") == "acme_2-x"
    assert typed(CountIn, strict_json('{"count": 0, "observed_at": "2026-11-25T10:00Z"}')).count == 0


@pytest.mark.parametrize("offset", ["+09:60", "+09:99"])
def test_an_offset_that_is_no_clock_time_is_refused(offset):
    # Given a timestamp whose UTC offset has a minute past 59
    # When it is typed
    # Then it is refused like a 30th of February
    with pytest.raises(ValidationError):
        TypeAdapter(Timestamp).validate_python(f"2026-11-25T10:00:00{offset}")


@pytest.mark.parametrize(
    "value",
    [
        "\u3000",
        "\u00a0",
        "a\u0085b",
        "a\u009bb",
        "\u200b",  # a zero-width space: invisible, so as blank as a space
        "\ufeff",
        "\u2060\u3000\u200d",
        "\u3164",  # a Hangul filler, drawn as nothing
        "A\u202eB",  # a right-to-left override: shown otherwise than stored
        "株式会社\u2066ABC\u2069",
        "\u200f株式会社",
    ],
)
def test_a_name_that_is_blank_or_holds_a_control_is_refused(value):
    # Given a company name that shows as nothing (spaces, invisible characters), or holds a C1 or bidi control
    body = profile_body(contact={"company_name": value})
    # When it is typed
    # Then it is refused, as the hand-written parser refused a blank name (value.strip())
    with pytest.raises(InvalidRequest, match="company_name"):
        typed(AccountIn, body)


@pytest.mark.parametrize("value", ["葛\U000e0100城", "👨\u200d👩\u200d👧 商店", "ｻﾝﾌﾟﾙ\u200b商事", "A\u00adB"])
def test_a_name_with_invisible_characters_among_visible_ones_is_kept_as_written(value):
    # Given a name with an ideographic variation selector (異体字), an emoji joined by ZWJs, or an invisible
    # character between visible ones
    body = profile_body(contact={"company_name": value})
    # Then it is taken as written
    assert typed(AccountIn, body).billing_contact.company_name == value


@pytest.mark.parametrize("email", ["bill\u200bing@example.co.jp", "billing@exam\u202eple.co.jp", "a b@example.co.jp"])
def test_an_email_address_with_a_space_an_invisible_or_a_bidi_character_is_refused(email):
    body = profile_body(contact={"email": email})
    with pytest.raises(InvalidRequest, match="email"):
        typed(AccountIn, body)


@pytest.mark.parametrize(
    "email", ["a@例え.jp", "billing@ｅｘａｍｐｌｅ.co.jp", "経理@example.co.jp", "a@example.日本", "a@bücher.example"]
)
def test_an_email_address_that_is_not_ascii_is_refused_on_a_profile_and_a_change(email):
    # Given an address SES cannot send to as written (a non-ASCII domain needs its IDNA form, a local part ASCII)
    body = profile_body(contact={"email": email})
    # Then a new profile and a change request both refuse it, saying how to write it
    with pytest.raises(InvalidRequest) as refused:
        typed(AccountIn, body)
    assert refused.value.status == 400
    assert "billing_contact.email" in refused.value.message and "xn--" in refused.value.message
    with pytest.raises(InvalidRequest) as refused:
        typed(ChangeRequestIn, {"changes": {"billing_contact": {"email": email}}})
    assert "changes.billing_contact.email" in refused.value.message and "xn--" in refused.value.message


def test_an_email_address_with_its_domain_in_idna_form_is_taken_as_written():
    body = profile_body(contact={"email": "a@xn--r8jz45g.jp"})
    assert typed(AccountIn, body).billing_contact.email == "a@xn--r8jz45g.jp"
    change = typed(ChangeRequestIn, {"changes": {"billing_contact": {"email": "Billing+Dept@Example.CO.JP"}}})
    assert change.changes.billing_contact.email == "Billing+Dept@Example.CO.JP"


# ------------------------------------------------ contact fields: as long as the envelope window holds, as written


@pytest.mark.parametrize(("field", "limit"), sorted(CONTACT_LIMITS.items()))
def test_a_contact_field_one_character_past_what_the_window_holds_is_refused(field, limit):
    # Given a profile and a change request whose contact field is one character longer than the PDF fits
    body = profile_body(contact={field: "國" * (limit + 1)})
    # Then both are refused at the edge as invalid_request (400), naming the field and the limit
    with pytest.raises(InvalidRequest) as refused:
        typed(AccountIn, body)
    assert refused.value.as_json()["error"]["code"] == "invalid_request" and refused.value.status == 400
    assert f"billing_contact.{field}: String should have at most {limit} characters" in refused.value.message
    with pytest.raises(InvalidRequest) as refused:
        typed(ChangeRequestIn, {"changes": {"billing_contact": {field: "國" * (limit + 1)}}})
    assert f"changes.billing_contact.{field}: String should have at most {limit}" in refused.value.message
    # and at the limit they are taken
    typed(ChangeRequestIn, {"changes": {"billing_contact": {field: "國" * limit}}})


@pytest.mark.parametrize("name", ["=HYPERLINK(1)", "+81 商事", "-株式会社-", "@marketing", '<script>"x"</script>'])
def test_text_that_a_spreadsheet_or_a_browser_would_misread_is_kept_as_written(name):
    # Neutralised on output (CSV cells, HTML escaping), never refused: these are ordinary names too.
    body = profile_body(person_name=name, contact={"company_name": name, "address": name})
    taken = typed(AccountIn, body).billing_contact
    assert (taken.company_name, taken.person_name, taken.address) == (name, name, name)
