"""The invoice desk's pure parts: CSV cells, next_token, and the order shards merge in."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import InvalidRequest
from billing.invoicing import desk
from billing.spreadsheet import csv_cell

SEARCH = desk.DocumentSearch(date(2026, 4, 1), date(2027, 3, 31), min_total=10_000, counterparty="商事")


def document(issued_on: str, number: str, **fields) -> dict:
    return {"issued_on": issued_on, "invoice_number": number, **fields}


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_read_as_a_formula_is_neutralised(start):
    assert csv_cell(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


@pytest.mark.parametrize(
    "name", ["株式会社サンプル商事", "山田 太郎", "ＡＢＣ商会", "(株)テスト", "O'Reilly 合同会社", ""]
)
def test_ordinary_names_are_kept_as_written(name):
    assert csv_cell(name) == name


def test_amounts_stay_numbers_and_none_is_empty():
    assert (csv_cell(12_100), csv_cell(-7_700), csv_cell(0), csv_cell(None)) == ("12100", "-7700", "0", "")


# What a spreadsheet shows as nothing before a formula: white space of every kind, and invisible characters.
BLANKS = {
    "space": " ",
    "ideographic space U+3000": "\u3000",
    "no-break space U+00A0": "\u00a0",
    "narrow no-break space U+202F": "\u202f",
    "em space U+2003": "\u2003",
    "zero-width space U+200B": "\u200b",
    "zero-width non-joiner U+200C": "\u200c",
    "zero-width joiner U+200D": "\u200d",
    "BOM U+FEFF": "\ufeff",
    "word joiner U+2060": "\u2060",
    "line feed": "\n",
    "several": " \u3000\u200b\u00a0",
}
STARTS = {
    "=": "=", "+": "+", "-": "-", "@": "@", "tab": "\t", "CR": "\r",
    "full-width ＝": "＝", "full-width ＋": "＋", "full-width －": "－", "full-width ＠": "＠",
    "small ﹦": "﹦", "small ﹢": "﹢",
}  # fmt: skip


@pytest.mark.parametrize("start", list(STARTS.values()), ids=list(STARTS))
@pytest.mark.parametrize("blank", ["", *BLANKS.values()], ids=["none", *BLANKS])
def test_a_formula_after_leading_blanks_or_in_full_width_is_neutralised(blank, start):
    # Given a cell that a spreadsheet would run once it skipped what it shows as nothing
    text = f'{blank}{start}HYPERLINK("http://evil.example","x")'
    # When it is written to a CSV, Then it starts with a quote and keeps the text exactly
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    "text",
    [
        "12100",
        "",
        " ",
        "\u3000",
        "\u3000山田 太郎",
        " 株式会社テスト",
        "A-1 ビル",
        "100-0005",
        "info@example.co.jp",
        "＃1",
    ],
)
def test_text_that_starts_with_no_formula_is_kept_as_written(text):
    assert csv_cell(text) == text


@given(st.lists(st.sampled_from([*BLANKS.values(), "a", "山", "1", "(", *STARTS.values()]), max_size=6).map("".join))
def test_a_cell_is_quoted_exactly_when_its_first_visible_character_starts_a_formula(text):
    visible = text.lstrip("".join(BLANKS.values()))
    runs = visible[:1] in STARTS.values()
    assert csv_cell(text) == ("'" + text if runs else text)


def test_the_csv_has_a_bom_one_header_and_quoted_commas():
    rows = [document("2026-11-01", "INV-202610-0000001", counterparty='=HYPERLINK("x","y"),株式会社', total=100)]
    text = desk.render_csv(rows)
    assert text.startswith("\ufeffinvoice_number,kind,")
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert parsed[0] == [*desk.ROW_FIELDS, *desk.PAYMENT_FIELDS] and len(parsed) == 2
    assert parsed[1][3] == '\'=HYPERLINK("x","y"),株式会社'


def test_the_desk_csv_neutralises_a_formula_behind_blanks_and_keeps_negative_amounts_numbers():
    rows = [document("2026-11-01", "CN-202610-0000001", counterparty='\u3000＝HYPERLINK("x")', total=-7700, tax=-700)]
    parsed = list(csv.reader(io.StringIO(desk.render_csv(rows).removeprefix("\ufeff"))))
    assert parsed[1][3] == '\'\u3000＝HYPERLINK("x")'
    assert (parsed[1][6], parsed[1][7]) == ("-7700", "-700")


# ---------------------------------------------------------------- next_token


def test_a_token_round_trips_and_is_url_safe():
    token = desk.encode_token(SEARCH, "2026-11-01#INV-202610-0000003")
    assert all(c.isalnum() or c in "-_" for c in token)
    assert desk.decode_token(SEARCH, token) == "2026-11-01#INV-202610-0000003"


def forged(body: object) -> str:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        "a",
        "a+b/",
        forged(b"\xff\xfe"),
        forged([1, 2]),
        forged({"v": 1, "q": SEARCH.fingerprint()}),
        forged({"v": 2, "q": SEARCH.fingerprint(), "after": "2026-11-01#INV-202610-0000003"}),
        forged({"v": 1, "q": "other", "after": "2026-11-01#INV-202610-0000003"}),
        forged({"v": 1, "q": SEARCH.fingerprint(), "after": "2026-02-30#INV-202610-0000003"}),
        forged({"v": 1, "q": SEARCH.fingerprint(), "after": "2025-11-01#INV-202610-0000003"}),
        forged({"v": 1, "q": SEARCH.fingerprint(), "after": "2026-11-01#XYZ"}),
        forged({"v": 1, "q": SEARCH.fingerprint(), "after": 7, "extra": 1}),
    ],
)
def test_a_malformed_or_tampered_token_is_a_bad_request(token):
    with pytest.raises(InvalidRequest):
        desk.decode_token(SEARCH, token)


def test_a_token_is_bound_to_its_conditions():
    token = desk.encode_token(SEARCH, "2026-11-01#INV-202610-0000003")
    other = desk.DocumentSearch(date(2026, 4, 1), date(2027, 3, 31), min_total=10_001, counterparty="商事")
    with pytest.raises(InvalidRequest):
        desk.decode_token(other, token)


@given(st.text(max_size=60))
def test_no_token_fails_other_than_as_a_bad_request(token):
    with contextlib.suppress(InvalidRequest):
        desk.decode_token(SEARCH, token)


# ---------------------------------------------------------------- the search and its order


def test_shards_merge_oldest_first_by_date_then_number():
    shards = [
        [document("2026-11-01", "INV-202610-0000002"), document("2026-11-20", "INV-202610-0000005")],
        [document("2026-11-01", "INV-202610-0000001"), document("2026-12-05", "CN-202610-0000001")],
        [],
        [document("2026-11-01", "INV-202610-0000004"), document("2026-11-20", "CN-202610-0000002")],
    ]
    merged = [d["invoice_number"] for d in desk.merge_oldest_first(shards)]
    assert merged == [
        "INV-202610-0000001",
        "INV-202610-0000002",
        "INV-202610-0000004",
        "CN-202610-0000002",
        "INV-202610-0000005",
        "CN-202610-0000001",
    ]


@given(
    st.lists(
        st.tuples(st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.integers(1, 9_999_999)), unique_by=lambda t: t[1]
    )
)
def test_any_sharding_merges_to_the_sorted_order(pairs):
    documents = [document(day.isoformat(), f"INV-202601-{n:07d}") for day, n in pairs]
    shards = [sorted((d for d in documents if hash(d["invoice_number"]) % 4 == s), key=desk.position) for s in range(4)]
    assert list(desk.merge_oldest_first(shards)) == sorted(documents, key=desk.position)


def test_a_fiscal_year_fits_but_not_more_and_never_reversed():
    assert len(desk.DocumentSearch(date(2027, 4, 1), date(2028, 3, 31)).issue_months()) == 12  # 366 days (leap)
    for start, end in ((date(2026, 4, 1), date(2027, 4, 2)), (date(2026, 5, 2), date(2026, 5, 1))):
        with pytest.raises(InvalidRequest):
            desk.DocumentSearch(start, end)
    with pytest.raises(InvalidRequest):
        desk.DocumentSearch(date(2026, 4, 1), date(2026, 4, 30), min_total=2, max_total=1)


def test_a_month_s_part_of_the_range():
    search = desk.DocumentSearch(date(2026, 11, 15), date(2027, 1, 10))
    assert search.issue_months() == ["2026-11", "2026-12", "2027-01"]
    assert search.day_range("2026-11") == (date(2026, 11, 15), date(2026, 11, 30))
    assert search.day_range("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert search.day_range("2027-01") == (date(2027, 1, 1), date(2027, 1, 10))
