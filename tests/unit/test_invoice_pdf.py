"""The invoice PDF: what a customer reads on it, the embedded font, and identical bytes on re-render."""

import hashlib
import io
import itertools
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from benchmarks._sample_invoice import sample_invoice as make_invoice
from billing import months
from billing.contracts.accounts import BillingContact
from billing.invoicing.invoice import Invoice, build_invoice
from billing.invoicing.issuer import load_issuer, parse_issuer
from billing.invoicing.numbers import invoice_number
from billing.schema.platform import CONTACT_LIMITS
from billing.tariff import load_tariff
from billing.usage.counts import MonthUsage, Reading
from invoice_pdf import render_invoice_pdf, render_statement_sheets
from invoice_pdf.render import (
    WINDOW_HEIGHT_MM,
    WINDOW_PADDING_MM,
    WINDOW_TOP_MM,
    WINDOW_TYPE_STEPS,
    WINDOW_WIDTH_MM,
    WINDOW_X_MM,
    _addressee_lines,
    address_block,
)
from invoice_pdf.sheet import Sheet, new_canvas, register_font, text_width, wrap
from tests.factories import account_profile

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "pdf"
MM = 72 / 25.4


@pytest.fixture(scope="module")
def transfer_web():
    return make_invoice("bank_transfer", "web")


@pytest.fixture(scope="module")
def debit_postal():
    return make_invoice("direct_debit", "postal", person=None)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_transfer_invoice_shows_what_the_customer_needs_to_pay(transfer_web):
    # When the October invoice of a bank-transfer account is rendered
    text = text_of(render_invoice_pdf(transfer_web, load_issuer()))
    # Then it reads as a qualified invoice: issuer, registration number, recipient, period, tax per rate
    issuer = load_issuer()
    for expected in (
        "請 求 書",
        issuer.name,
        f"登録番号 {issuer.registration_number}",
        "株式会社サンプル商事 経理部 山田 太郎 様",
        "発行日 2026年11月1日",
        "INV-202610-0000001",
        "2026年10月1日〜2026年10月31日",
        "10%対象 小計",
        "¥10,000",
        "消費税 (10%)",
        "¥1,000",
        "合計 (税込)",
        "¥11,000",
        # how to pay: the bank account and the due date
        issuer.bank.account_number,
        issuer.bank.account_holder,
        "振込期限",
        "2026年11月30日",
        # and the customer number, asked for before the payer name so the payment finds its invoice
        f"お客様番号\n{transfer_web.customer_number}",
        f"振込依頼人名の前にお客様番号をご入力ください (例: {transfer_web.customer_number}",
        # the peak that set the fee, and when it was reached
        "12,345件 (2026年10月25日 10:00 記録)",
        "10,001〜20,000件",
    ):
        assert expected in text, expected
    assert "口座振替日" not in text


def test_a_debit_invoice_shows_the_debit_date_and_no_bank_account(debit_postal):
    text = text_of(render_invoice_pdf(debit_postal))
    assert "口座振替日" in text and "2026年11月27日" in text
    assert "株式会社サンプル商事 経理部 御中" in text
    assert load_issuer().bank.account_holder not in text
    assert "振込期限" not in text and "振込先" not in text and "お客様番号" not in text
    assert "****567" not in text and "0005 123" not in text  # the debited account is not printed


def placed_text(pdf: bytes) -> list[tuple[str, float, float, float]]:
    """(text, left mm, baseline mm from the top, right mm) of each text run on the first page."""
    placed = []

    def visit(text, _cm, tm, _font, size):
        if text.strip():
            left = tm[4] / MM
            placed.append((text.strip(), left, 297 - tm[5] / MM, left + text_width(text.strip(), size)))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return placed


def assert_in_window(placed, starts):
    for wanted in starts:
        x, top, right = next((x, top, right) for text, x, top, right in placed if text.startswith(wanted))
        assert x >= WINDOW_X_MM and right <= WINDOW_X_MM + WINDOW_WIDTH_MM, (wanted, x, right)
        assert WINDOW_TOP_MM <= top <= WINDOW_TOP_MM + WINDOW_HEIGHT_MM, (wanted, top)


def test_the_postal_address_sits_inside_the_window_of_a_long_3_envelope(debit_postal):
    # Given a postal invoice, when it is rendered
    placed = placed_text(render_invoice_pdf(debit_postal))
    # Then the postal code, address and addressee all fall within the envelope window
    assert_in_window(placed, ("〒100-0005", "東京都千代田区丸の内", "株式会社サンプル商事", "経理部 御中"))


def test_a_very_long_address_and_name_still_fit_the_window_and_the_page():
    # Given a recipient with a 60-character company name, a long address, department and person (longer than a PUT
    # takes: set on the profile directly), and a peak of 123,456,789 records
    contact = BillingContact(
        company_name="株式会社ものすごく長い名前のサンプル商事ホールディングスアンドパートナーズ・ジャパン合同事業部門",
        postal_code="100-0005",
        address="東京都千代田区丸の内一丁目1番1号 サンプルタワー・ノースウィング・オフィス棟12階 経理財務本部 気付",
        email="billing@example.co.jp",
        phone="03-1234-5678",
        department="経理財務本部 請求書受付グループ 第二チーム",
        person_name="長谷川 左衛門三郎",
    )
    profile = replace(
        account_profile("direct_debit", "postal", plan="premium", options=("bridge", "dedicated_ip")),
        billing_contact=contact,
    )
    at = months.to_micros(datetime(2027, 2, 14, 23, 59, tzinfo=months.TOKYO))
    usage = MonthUsage("acme", "2027-02", 0, {date(2027, 2, 14): Reading(123_456_789, at)})
    pdf = render_invoice_pdf(build_invoice(invoice_number("2027-02", 1), profile, usage, load_tariff(), load_issuer()))
    # Then it is still one page, the address block stays in the window, and no number is split
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert_in_window(placed_text(pdf), ("〒100-0005", "東京都千代田区", "株式会社ものすごく", "長谷川 左衛門三郎 様"))
    assert "123,456,789件" in text_of(pdf)
    overflowing = [(text, right) for text, _, _, right in placed_text(pdf) if right > 192.5]
    assert not overflowing, "text past the right margin"


def test_the_japanese_font_is_embedded_as_a_subset(transfer_web):
    pdf = render_invoice_pdf(transfer_web)
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    embedded = [font.get_object() for font in fonts.values()]
    # Every font on the page is a subset of IPAex Gothic (tag like ABCDEF+), with the TrueType program in it
    assert embedded
    for font in embedded:
        assert re.fullmatch(r"/[A-Z]{6}\+IPAexGothic", font["/BaseFont"])
        assert "/FontFile2" in font["/FontDescriptor"]
    # The subset keeps the file small: the full font is 6 MB
    assert len(pdf) < 150_000


def test_the_font_file_is_read_once_per_process_not_once_per_subset(transfer_web, debit_postal):
    from reportlab.pdfbase import pdfmetrics

    render_invoice_pdf(transfer_web)
    face = pdfmetrics.getFont(register_font()).face
    glyphs = face.get_table("glyf")  # 5.6 MB: every subset cuts its glyphs from it
    render_invoice_pdf(debit_postal)
    assert face.get_table("glyf") is glyphs


def test_the_same_invoice_renders_to_identical_bytes(transfer_web, debit_postal):
    first = render_invoice_pdf(transfer_web)
    render_invoice_pdf(debit_postal)  # another document in between shares the registered font
    assert render_invoice_pdf(transfer_web) == first
    # and so does the same invoice read back from its stored record
    assert render_invoice_pdf(Invoice.from_record(transfer_web.as_record())) == first


def test_the_same_invoice_renders_identically_in_another_process(transfer_web):
    # Hash randomisation differs per process; the bytes must not.
    code = (
        "import sys, hashlib; sys.path[:0] = ['layers/domain', 'layers/pdf', 'tests/unit'];"
        "from test_invoice_pdf import make_invoice; from invoice_pdf import render_invoice_pdf;"
        "print(hashlib.sha256(render_invoice_pdf(make_invoice())).hexdigest())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "7"}
    )
    assert out.stdout.strip() == hashlib.sha256(render_invoice_pdf(transfer_web)).hexdigest()


def test_a_print_batch_puts_each_invoice_on_its_own_page(transfer_web, debit_postal):
    second = make_invoice("direct_debit", "postal", person=None, sequence=2)
    pdf = render_statement_sheets([transfer_web, second])
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 2
    assert "INV-202610-0000001" in pages[0].extract_text() and "山田 太郎 様" in pages[0].extract_text()
    assert "INV-202610-0000002" in pages[1].extract_text() and "御中" in pages[1].extract_text()
    assert render_statement_sheets([transfer_web, second]) == pdf


def _page_operators(pdf: bytes) -> list[list[str]]:
    """Each page's content stream as its lines of operators."""
    return [page.get_contents().get_data().decode("latin-1").splitlines() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_sheet_writes_a_grey_or_a_line_width_only_when_it_changes_and_again_on_a_new_page():
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, "t", "a", "s")
    sheet = Sheet(canvas)
    sheet.text(10, 10, "請求書", grey=0.4)
    sheet.text(10, 20, "御中", grey=0.4)  # same grey: nothing to set
    sheet.text(10, 30, "合計", bold=True, grey=0.4)  # its outline needs the stroke grey and a width
    sheet.rule(10, 40, 100, width=0.5, grey=0.4)  # same stroke grey, another width
    sheet.text(10, 50, "様")  # black again
    sheet.new_page()
    sheet.text(10, 10, "請求書", grey=0.4)  # a new page starts from PDF's defaults: set it again
    sheet.new_page()
    canvas.save()
    first, second = _page_operators(buffer.getvalue())
    state = [line for line in first if re.fullmatch(r"[\d.]+ [gGw]", line)]
    assert state == [".4 g", ".4 G", ".315 w", ".5 w", "0 g"]
    assert [line for line in second if re.fullmatch(r"[\d.]+ [gGw]", line)] == [".4 g"]


def test_an_empty_print_batch_is_refused():
    with pytest.raises(ValueError):
        render_statement_sheets([])


def test_an_invoice_is_never_rendered_under_another_issuer(transfer_web):
    other = parse_issuer({**load_issuer().as_record(), "registration_number": "T7000012050002"})
    with pytest.raises(ValueError, match="T7000012050002"):
        render_invoice_pdf(transfer_web, other)


def test_the_invoice_domain_does_not_import_the_pdf_library():
    code = "import sys, billing.invoicing.invoice; assert 'reportlab' not in sys.modules, 'reportlab imported'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "layers" / "domain", check=True)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("transfer-web", ("bank_transfer", "web", "山田 太郎")),
        ("transfer-postal", ("bank_transfer", "postal", None)),
        ("debit-web", ("direct_debit", "web", "佐藤 花子")),
        ("debit-postal", ("direct_debit", "postal", None)),
    ],
)
def test_each_kind_renders_to_a_png_for_review(name, kind):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install -y poppler-utils); PNG previews not made")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf_path = ARTIFACTS / f"{name}.pdf"
    pdf_path.write_bytes(render_invoice_pdf(make_invoice(*kind)))
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", pdf_path, ARTIFACTS / name], check=True)
    png = (ARTIFACTS / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a rendered page, not a blank one


# ------------------------------------------------ the envelope window at the longest contact the API accepts

LONGEST = CONTACT_LIMITS  # company_name 50, department 40, person_name 30, address 80
INNER = (  # the window less its 4 mm margin for the sheet moving in the envelope: left, top, right, bottom
    WINDOW_X_MM + WINDOW_PADDING_MM,
    WINDOW_TOP_MM + WINDOW_PADDING_MM,
    WINDOW_X_MM + WINDOW_WIDTH_MM - WINDOW_PADDING_MM,
    WINDOW_TOP_MM + WINDOW_HEIGHT_MM - WINDOW_PADDING_MM,
)


def contact_invoice(company, address, department=None, person=None, account_id="acme", delivery="postal") -> Invoice:
    contact = BillingContact(
        company_name=company,
        postal_code="100-0005",
        address=address,
        email="billing@example.co.jp",
        phone="03-1234-5678",
        department=department,
        person_name=person,
    )
    profile = replace(account_profile("direct_debit", delivery, account_id=account_id), billing_contact=contact)
    usage = MonthUsage(account_id, "2026-10", 9_000, {})
    return build_invoice(invoice_number("2026-10", 1), profile, usage, load_tariff(), load_issuer())


def longest(char: str, person=True, department=True) -> Invoice:
    return contact_invoice(
        char * LONGEST["company_name"],
        char * LONGEST["address"],
        char * LONGEST["department"] if department else None,
        char * LONGEST["person_name"] if person else None,
    )


def inside(box, rect) -> bool:
    left, top, right, bottom = box
    return left >= rect[0] - 0.01 and top >= rect[1] - 0.01 and right <= rect[2] + 0.01 and bottom <= rect[3] + 0.01


def overlaps(box, rect) -> bool:
    left, top, right, bottom = box
    return left < rect[2] and right > rect[0] and top < rect[3] and bottom > rect[1]


def squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


def window_text(invoice: Invoice) -> str:
    """Everything the window must show, in order."""
    contact = invoice.recipient
    return squeezed("〒" + contact.postal_code + contact.address + "".join(_addressee_lines(invoice)))


WORST_CASES = {
    # full-width: every character a whole em, the widest the font has
    "國 all four": longest("國"),
    "國 no person (御中)": longest("國", person=False),
    "國 no department": longest("國", department=False),
    # wide Latin capitals break only where a run is too wide for a line
    "W all four": longest("W"),
    # characters that may not start a line (行頭禁則): they must not hang out of the window
    "ー all four": longest("ー"),
    "、 all four": longest("、"),
    "mixed": contact_invoice(
        ("株式会社" + "國" * 40 + "、ー。様")[:50],
        ("東京都千代田区丸の内1-1-1 " + "ＷＷＷ、" * 20)[:80],
        ("経理部" + "・" * 37)[:40],
        ("=SUM(A1) " + "様" * 30)[:30],
    ),
}


@pytest.mark.parametrize("invoice", WORST_CASES.values(), ids=WORST_CASES.keys())
def test_contact_fields_at_their_longest_fit_inside_the_window(invoice):
    # Given a contact whose fields are each as long as the API accepts
    # When its address block is laid out
    block = address_block(invoice)
    # Then every line's box (advance width, ascent to descent) lies inside the window's inner box
    outside = [(line.text, line.box) for line in block if not inside(line.box, INNER)]
    assert not outside, outside
    # and lines never overlap each other
    for upper, lower in itertools.pairwise(block):
        assert upper.box[3] <= lower.box[1], (upper.text, lower.text)
    # and nothing was cut short: the window holds the whole contact, wrapped
    assert squeezed("".join(line.text for line in block)) == window_text(invoice)
    assert min(line.size for line in block) >= WINDOW_TYPE_STEPS[-1][0]


def pdf_runs(pdf: bytes) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, box in mm from the top-left) of each text run the PDF draws on its first page."""
    runs = []

    def visit(text, _cm, tm, _font, size):
        text = text.strip("\n")
        if text.strip():
            em = size * tm[0] / MM
            left, baseline = tm[4] / MM, 297 - tm[5] / MM
            right = left + text_width(text, size * tm[0])
            runs.append((text, (left, baseline - 0.88 * em, right, baseline + 0.12 * em)))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


@pytest.mark.parametrize("invoice", WORST_CASES.values(), ids=WORST_CASES.keys())
def test_the_rendered_pdf_draws_the_whole_contact_in_the_window_and_nothing_else_near_it(invoice):
    # Given the worst-case contact rendered to PDF
    runs = pdf_runs(render_invoice_pdf(invoice))
    window = (WINDOW_X_MM, WINDOW_TOP_MM, WINDOW_X_MM + WINDOW_WIDTH_MM, WINDOW_TOP_MM + WINDOW_HEIGHT_MM)
    clear = (window[0] - 5, window[1] - 5, window[2] + 5, window[3] + 5)
    # Then each text run near the window is inside its inner box, the others keep 5 mm clear of it
    near = [(text, box) for text, box in runs if overlaps(box, clear)]
    strays = [(text, box) for text, box in near if not inside(box, INNER)]
    assert not strays, strays
    # and those runs are the whole contact, nothing more and nothing less
    assert squeezed("".join(text for text, _ in near)) == window_text(invoice)
    # and the title sits below the window
    title = next(box for text, box in runs if text.strip() == "請 求 書")
    assert title[1] > window[3]


def test_a_64_character_account_id_stays_clear_of_the_window():
    invoice = contact_invoice("株式会社サンプル商事", "東京都千代田区丸の内1-1-1", account_id="M" * 64)
    runs = pdf_runs(render_invoice_pdf(invoice))
    window = (WINDOW_X_MM, WINDOW_TOP_MM, WINDOW_X_MM + WINDOW_WIDTH_MM, WINDOW_TOP_MM + WINDOW_HEIGHT_MM)
    clear = (window[0] - 5, window[1] - 5, window[2] + 5, window[3] + 5)
    id_runs = [(text, box) for text, box in runs if "MMM" in text]
    assert squeezed("".join(text for text, _ in id_runs)) == "お客様ID" + "M" * 64
    assert not [run for run in id_runs if overlaps(run[1], clear) or run[1][2] > 192.5]


@settings(max_examples=60, deadline=None)
@given(
    st.data(),
    st.sampled_from(["國", "W", "ー", "、", "様", "1", " ", "ｱ", "(", "@", "=", "😀"]),
)
def test_any_contact_within_the_limits_fits_the_window(data, filler):
    # Given any characters (wide, narrow, 行頭禁則, spaces) at up to the accepted lengths
    def field(name):
        alphabet = st.sampled_from(["國", "W", "ー", "、", "様", "1", " ", "ｱ", "(", "=", filler])
        return "".join(data.draw(st.lists(alphabet, min_size=1, max_size=LONGEST[name]), label=name)).strip() or "x"

    invoice = contact_invoice(field("company_name"), field("address"), field("department"), field("person_name"))
    block = address_block(invoice)
    assert all(inside(line.box, INNER) for line in block)
    assert squeezed("".join(line.text for line in block)) == window_text(invoice)


def test_a_contact_stored_before_the_limits_is_cut_short_rather_than_drawn_outside_the_window():
    # Given a contact as long as the old limits let through (100 characters of name, 200 of address)
    invoice = contact_invoice("國" * 100, "國" * 200, "國" * 100, "國" * 100)
    block = address_block(invoice)
    # Then what is drawn stays in the window, the postal code first, and the cut is marked
    assert all(inside(line.box, INNER) for line in block)
    assert block[0].text == "〒100-0005" and block[-1].text.endswith("…")


@pytest.mark.parametrize(
    "text", ["國" * 80, "ー" * 80, "國" * 29 + "、" * 5, "W" * 40 + ",abc" * 5, "1-1-1、2-2-2。" * 6]
)
def test_no_wrapped_line_is_wider_than_its_measure(text):
    for size in (7.0, 9.0, 11.5):
        lines = wrap(text, 82.0, size)
        assert squeezed("".join(lines)) == squeezed(text)
        assert all(text_width(line, size) <= 82.0 + 1e-6 for line in lines), lines


def test_the_longest_contact_renders_to_a_png_for_review():
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install -y poppler-utils); PNG previews not made")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, invoice in (("longest-contact", longest("國")), ("longest-contact-onchu", longest("國", person=False))):
        pdf_path = ARTIFACTS / f"{name}.pdf"
        pdf_path.write_bytes(render_invoice_pdf(invoice))
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", pdf_path, ARTIFACTS / name], check=True)
        assert (ARTIFACTS / f"{name}.png").read_bytes().startswith(b"\x89PNG")
