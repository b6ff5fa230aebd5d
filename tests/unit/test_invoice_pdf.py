"""The invoice PDF: what a customer reads on it, the embedded font, and identical bytes on re-render."""

import hashlib
import io
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing import months
from billing.contracts.accounts import AccountProfile, BillingContact
from billing.invoicing.invoice import Invoice, build_invoice
from billing.invoicing.issuer import load_issuer, parse_issuer
from billing.invoicing.numbers import invoice_number
from billing.invoicing.tariff import load_tariff
from billing.usage.counts import MonthUsage, Reading
from invoice_pdf import render_invoice_pdf, render_statement_sheets
from invoice_pdf.render import WINDOW_HEIGHT_MM, WINDOW_TOP_MM, WINDOW_WIDTH_MM, WINDOW_X_MM
from invoice_pdf.sheet import text_width

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "pdf"
MM = 72 / 25.4


def make_invoice(payment="bank_transfer", delivery="web", person="山田 太郎", month="2026-10", sequence=1) -> Invoice:
    contact = BillingContact(
        company_name="株式会社サンプル商事",
        postal_code="100-0005",
        address="東京都千代田区丸の内1-1-1 サンプルタワー12階",
        email="billing@example.co.jp",
        phone="03-1234-5678",
        department="経理部",
        person_name=person,
    )
    profile = AccountProfile("acme", "standard", ("bridge",), payment, delivery, date(2026, 4, 1), contact)
    first = months.first_day(month)
    days = {}
    for n in range((months.last_day(month) - first).days + 1):
        day = first + timedelta(days=n)
        count = 12_345 if n == 24 else 9_000 + 90 * n
        days[day] = Reading(count, months.to_micros(datetime(day.year, day.month, day.day, 10, 0, tzinfo=months.TOKYO)))
    usage = MonthUsage("acme", month, 9_000, days)
    return build_invoice(invoice_number(month, sequence), profile, usage, load_tariff(), load_issuer())


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
    assert "振込期限" not in text and "振込先" not in text


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
    # Given a recipient with a 60-character company name, a long address, department and person,
    # and a peak of 123,456,789 records
    contact = BillingContact(
        company_name="株式会社ものすごく長い名前のサンプル商事ホールディングスアンドパートナーズ・ジャパン合同事業部門",
        postal_code="100-0005",
        address="東京都千代田区丸の内一丁目1番1号 サンプルタワー・ノースウィング・オフィス棟12階 経理財務本部 気付",
        email="billing@example.co.jp",
        phone="03-1234-5678",
        department="経理財務本部 請求書受付グループ 第二チーム",
        person_name="長谷川 左衛門三郎",
    )
    profile = AccountProfile(
        "acme", "premium", ("bridge", "dedicated_ip"), "direct_debit", "postal", date(2026, 4, 1), contact
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
