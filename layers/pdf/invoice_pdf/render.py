"""The qualified invoice (適格請求書) as an A4 PDF, in Japanese.

This lives in its own Lambda layer so that functions which don't render
(the record-count API above all) never import reportlab or load the font.

The page shows everything a qualified invoice needs (issuer and 登録番号,
transaction period, lines, subtotal and tax per rate, recipient with 御中/様)
plus how to pay and the month's peak record count that set the fee.

Postal letters go in a 長3 window envelope (120 x 235 mm) with the A4 sheet
folded in three (三つ折り, panels of 99 mm). The address block is drawn
where the window falls on the top panel:

    WINDOW_X_MM = 22   from the sheet's left edge   (brief: 20-25 mm)
    WINDOW_TOP_MM = 17 from the sheet's top edge     (brief: 15-20 mm)
    90 mm wide x 45 mm high

The common 長3 window is about 90 x 45 mm at about 23 mm from the left and
13-15 mm from the top of the envelope. A folded sheet can move a few
millimetres inside the envelope, so the text keeps a 4 mm inner margin and
nothing else is drawn within 5 mm of the block. Fold marks at 99 mm and
198 mm on the left edge guide the folding machine or the person folding.

Rendering is deterministic (fixed metadata, ``invariant=1``; the invoice
carries its own issuer snapshot), so a re-render gives identical bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.pdfgen.canvas import Canvas

from billing.delivery.notices import Notice
from billing.invoicing.invoice import ROUNDING_LABELS, Invoice
from billing.invoicing.issuer import Issuer
from billing.japanese import jp_date, yen
from billing.vocabulary import DELIVERY_LABELS, PAYMENT_LABELS, DocumentKind
from invoice_pdf.sheet import Sheet, new_canvas, text_width, wrap, wrap_chars

WINDOW_X_MM = 22.0
WINDOW_TOP_MM = 17.0
WINDOW_WIDTH_MM = 90.0
WINDOW_HEIGHT_MM = 45.0
WINDOW_PADDING_MM = 4.0
FOLD_MARKS_MM = (99.0, 198.0)  # 三つ折り
# (address size, name size, leading factor), largest first; the first that fits is used. The
# last is the floor: 80 full-width characters of address and 50/40/30 of company, department
# and person (the longest the API accepts) fit at it. Anything longer is cut short with …
# rather than drawn outside the window.
WINDOW_TYPE_STEPS = (
    (10.5, 11.5, 1.45),
    (9.5, 10.5, 1.45),
    (8.5, 9.5, 1.45),
    (7.5, 8.5, 1.45),
    (7.5, 8.0, 1.3),
    (7.0, 7.5, 1.25),
)
NAME_GAP_MM = 2.0  # between the address and the addressee
HEADER_LEFT = WINDOW_X_MM + WINDOW_WIDTH_MM + 5.0  # the header keeps 5 mm clear of the window

LEFT = 18.0  # page margins, mm
RIGHT = 192.0
BOTTOM = 282.0  # last usable baseline before the footer
ISSUER_X = 122.0
TABLE_COLUMNS = (LEFT, 138.0, 153.0, 166.0, RIGHT)  # 内容 | 数量 | 税率 | 金額(税抜)


TITLES = {
    DocumentKind.INVOICE: "請 求 書",
    DocumentKind.CORRECTION: "請 求 書（訂正）",
    DocumentKind.CREDIT_NOTE: "適格返還請求書",
}


def render_invoice_pdf(invoice: Invoice, issuer: Issuer | None = None) -> bytes:
    """One invoice as PDF bytes.

    The invoice is drawn from its own issuer snapshot, so re-rendering a stored
    invoice after the issuer file changed still gives the original bytes.
    ``issuer`` is an optional guard: when given, it must have the invoice's
    registration number.
    """
    return render_statement_sheets([invoice], issuer)


def render_statement_sheets(documents: list[Invoice | Notice], issuer: Issuer | None = None) -> bytes:
    """Several letters in one PDF, each starting on a new page (a print batch): invoices, and notices (a transfer
    request) with the same address window."""
    if not documents:
        raise ValueError("render_statement_sheets needs at least one invoice")
    for document in documents:
        if issuer is not None and issuer.registration_number != document.issuer.registration_number:
            raise ValueError(
                f"invoice {document.invoice_number} was issued by {document.issuer.registration_number}, "
                f"not {issuer.registration_number}"
            )
    first = documents[0]
    title = f"請求書 {first.invoice_number}" if len(documents) == 1 else f"請求書 {len(documents)}通"
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, title, first.issuer.name, f"{first.month} ご利用分")
    for document in documents:
        if isinstance(document, Notice):
            _NoticePage(canvas, document).draw()
        else:
            _InvoicePages(canvas, document).draw()
    canvas.save()
    return buffer.getvalue()


class _NoticePage:
    """A notice on one sheet: its number and date, the address window, the issuer, a title and its lines."""

    def __init__(self, canvas: Canvas, notice: Notice):
        self.sheet = Sheet(canvas)
        self.notice = notice

    def draw(self) -> None:
        n, s = self.notice, self.sheet
        s.text(RIGHT, 12, f"番号 {n.invoice_number}", 9, align="right")
        s.text(RIGHT, 16.5, f"発行日 {jp_date(n.issued_on)}", 9, align="right")
        for fold in FOLD_MARKS_MM:
            s.rule(0, fold, 5, width=0.3, grey=0.5)
        for line in address_block(n):
            s.text(line.x, line.baseline, line.text, line.size)
        draw_issuer(s, n.issuer)
        s.text(105, 76, n.title, 15, align="centre", bold=True)
        top = 88.0
        for line in n.lines:
            for part in wrap(line, RIGHT - LEFT, 9.5) or [""]:
                s.text(LEFT, top, part, 9.5)
                top += 5.2
        s.rule(LEFT, 287, RIGHT, width=0.3, grey=0.6)
        s.text(LEFT, 291, n.issuer.name, 7, grey=0.35)
        s.new_page()


def draw_issuer(s: Sheet, issuer: Issuer) -> None:
    """The issuer's name, registration number, address and telephone, right of the address window."""
    width = RIGHT - ISSUER_X
    top = 30.0
    top += s.lines(ISSUER_X, top, wrap(issuer.name, width, 10.5), 10.5, 5.2, bold=True)
    top += s.lines(ISSUER_X, top, [f"登録番号 {issuer.registration_number}"], 8.5, 4.4)
    # An address a little too long for one line is set smaller rather than broken.
    size = next((sz for sz in (8.5, 8.0, 7.5) if text_width(issuer.address, sz) <= width), 8.5)
    top += s.lines(ISSUER_X, top, [f"〒{issuer.postal_code}"], 8.5, 4.2)
    top += s.lines(ISSUER_X, top, wrap(issuer.address, width, size), size, 4.2)
    s.lines(ISSUER_X, top, [f"TEL {issuer.phone}"], 8.5, 4.2)


class _InvoicePages:
    """Draws one invoice from a fresh page, flowing onto more pages if needed."""

    def __init__(self, canvas: Canvas, invoice: Invoice):
        self.sheet = Sheet(canvas)
        self.invoice = invoice
        self.page = 1
        self.top = 0.0  # the flow cursor, mm from the top

    def draw(self) -> None:
        self._header()
        self._address_window()
        self._issuer_block()
        self._title_and_amount()
        self._lines_table()
        self._tax_summary()
        if self.invoice.kind == DocumentKind.CREDIT_NOTE:
            self._reference(
                "返還の内容", "返還の理由", "本書は適格返還請求書です。返還額は税率ごとに区分して記載しています。"
            )
        else:
            if self.invoice.kind == DocumentKind.CORRECTION:
                self._reference(
                    "訂正の内容", "訂正の理由", "本書は上記の請求書に代わるものです。元の請求書は破棄してください。"
                )
            self._payment()
            self._usage()
        self._footer()
        self.sheet.new_page()

    # -- page furniture -------------------------------------------------------

    def _need(self, height_mm: float) -> None:
        """Start a continuation page when the next block would not fit."""
        if self.top + height_mm <= BOTTOM:
            return
        self._footer()
        self.sheet.new_page()
        self.page += 1
        self._header()
        self.top = 30.0

    def _header(self) -> None:
        inv, s = self.invoice, self.sheet
        suffix = "" if self.page == 1 else f" ({self.page}枚目)"
        s.text(RIGHT, 12, f"請求書番号 {inv.invoice_number}{suffix}", 9, align="right")
        s.text(RIGHT, 16.5, f"発行日 {jp_date(inv.issued_on)}", 9, align="right")
        # An account id may be 64 wide letters: set smaller, then broken, but never reaching the window.
        label, width = f"お客様ID {inv.account_id}", RIGHT - HEADER_LEFT
        size = next((sz for sz in (9, 8, 7) if text_width(label, sz) <= width), 7)
        for index, line in enumerate(wrap_chars(label, width, size)):
            s.text(RIGHT, 21 + 3.2 * index, line, size, align="right")
        if inv.delivery_method == "postal":
            for fold in FOLD_MARKS_MM:
                s.rule(0, fold, 5, width=0.3, grey=0.5)

    def _footer(self) -> None:
        inv, s = self.invoice, self.sheet
        s.rule(LEFT, 287, RIGHT, width=0.3, grey=0.6)
        s.text(
            LEFT,
            291,
            f"本書は{'適格返還請求書' if inv.kind == DocumentKind.CREDIT_NOTE else '適格請求書'}です。"
            f" {inv.issuer.name}  登録番号 {inv.issuer.registration_number}",
            7,
            grey=0.35,
        )
        s.text(RIGHT, 291, f"{inv.invoice_number}  {self.page}ページ", 7, align="right", grey=0.35)

    # -- the first page's fixed blocks ------------------------------------------

    def _address_window(self) -> None:
        """〒, address, company, department, name: inside the 長3 window."""
        for line in address_block(self.invoice):
            self.sheet.text(line.x, line.baseline, line.text, line.size)

    def _issuer_block(self) -> None:
        draw_issuer(self.sheet, self.invoice.issuer)

    def _title_and_amount(self) -> None:
        inv, s = self.invoice, self.sheet
        s.text(105, 76, TITLES[inv.kind], 20 if inv.kind == DocumentKind.INVOICE else 17, align="centre", bold=True)
        notes = []
        if inv.replaces:
            original = (
                f"請求書番号 {inv.replaces}（{jp_date(inv.replaces_issued_on)}発行）"
                if inv.replaces_issued_on
                else inv.replaces
            )
            notes.append(f"{original}{'の訂正' if inv.kind == DocumentKind.CORRECTION else 'に対する返還'}")
        if inv.final:
            notes.append("最終請求（ご契約最終月分）")
        if notes:
            s.text(105, 81.5, f"({' / '.join(notes)})", 9, align="centre", bold=inv.final)
        # 宛名: shrink a long name before wrapping it.
        width = 120.0
        size = next((sz for sz in (13, 12, 11, 10) if text_width(inv.recipient_line, sz) <= width), 10)
        lines = wrap(inv.recipient_line, width, size)
        top = 86.0
        top += s.lines(LEFT, top, lines, size, size * 0.3528 * 1.35)
        s.rule(LEFT, top + 0.8, LEFT + width, width=0.6)
        top += 5
        returning = inv.kind == DocumentKind.CREDIT_NOTE
        s.text(
            LEFT, top + 3, "下記のとおりご返還申し上げます。" if returning else "下記のとおりご請求申し上げます。", 9
        )

        box_top = top + 6
        s.box(LEFT, box_top, 88, 14, fill=0.93, stroke=0.0)
        s.text(LEFT + 3, box_top + 8.6, "ご返還金額 (税込)" if returning else "ご請求金額 (税込)", 9.5)
        s.text(LEFT + 85, box_top + 9.6, yen(inv.total), 17, align="right", bold=True)

        rows = [("取引期間", f"{jp_date(inv.period_start)}〜{jp_date(inv.period_end)}")]
        rows.append(("お支払方法", PAYMENT_LABELS.get(inv.payment_method, inv.payment_method)))
        if inv.due_on:
            rows.append(("振込期限", jp_date(inv.due_on)))
        if inv.debit_on:
            rows.append(("口座振替日", jp_date(inv.debit_on)))
        rows.append(("送付方法", DELIVERY_LABELS.get(inv.delivery_method, inv.delivery_method)))
        row_top = box_top - 1.5
        for label, value in rows:
            s.text(112, row_top + 3.6, label, 8.5, grey=0.3)
            s.text(132, row_top + 3.6, value, 9, bold=label in ("振込期限", "口座振替日"))
            row_top += 4.6
        self.top = max(box_top + 14, row_top) + 6

    # -- flowing blocks ---------------------------------------------------------

    def _lines_table(self) -> None:
        s, cols = self.sheet, TABLE_COLUMNS
        self._need(8 + 8)
        top = self.top
        s.box(LEFT, top, RIGHT - LEFT, 7, fill=0.88, stroke=None)
        for label, x, align in (
            ("内容", cols[0] + 2, "left"),
            ("数量", (cols[1] + cols[2]) / 2, "centre"),
            ("税率", (cols[2] + cols[3]) / 2, "centre"),
            ("金額 (税抜)", cols[4] - 2, "right"),
        ):
            s.text(x, top + 4.8, label, 8.5, align=align)
        top += 7
        for line in self.invoice.lines:
            text = wrap(line.description, cols[1] - cols[0] - 6, 9)
            height = max(8.0, 3.2 + 4.6 * len(text))
            if top + height > BOTTOM:
                self.top = top
                self._need(height)
                top = self.top
            s.lines(cols[0] + 2, top + 2.0, text, 9, 4.6)
            s.text((cols[1] + cols[2]) / 2, top + 5.3, line.detail, 9, align="centre")
            s.text((cols[2] + cols[3]) / 2, top + 5.3, f"{line.tax_rate_percent}%", 9, align="centre")
            s.text(cols[4] - 2, top + 5.3, yen(line.amount), 9, align="right")
            top += height
            s.rule(LEFT, top, RIGHT, width=0.3, grey=0.6)
        self.top = top + 3

    def _tax_summary(self) -> None:
        inv, s = self.invoice, self.sheet
        rows = []
        for rate in inv.tax_summary:
            rows.append((f"{rate.rate_percent}%対象 小計", yen(rate.subtotal)))
            rows.append((f"消費税 ({rate.rate_percent}%)", yen(rate.tax)))
        self._need(5.5 * len(rows) + 12)
        top = self.top
        for label, value in rows:
            s.text(128, top + 4, label, 9)
            s.text(RIGHT - 2, top + 4, value, 9, align="right")
            top += 5.5
        s.rule(126, top + 0.5, RIGHT, width=0.8)
        s.text(128, top + 6, "合計 (税込)", 10.5, bold=True)
        s.text(RIGHT - 2, top + 6, yen(inv.total), 11, align="right", bold=True)
        rounding = ROUNDING_LABELS.get(inv.tax_rounding, inv.tax_rounding)
        s.text(LEFT, top + 6, f"消費税は税率ごとに合計額から計算しています (1円未満{rounding})。", 7.5, grey=0.35)
        self.top = top + 13

    def _payment(self) -> None:
        inv, s = self.invoice, self.sheet
        if inv.payment_method == "bank_transfer":
            bank = inv.issuer.bank
            rows = [
                ("振込先", f"{bank.bank_name} {bank.branch_name}  {bank.account_type} {bank.account_number}"),
                ("口座名義", bank.account_holder),
                ("振込期限", jp_date(inv.due_on) if inv.due_on else ""),
            ]
            notes = ["振込期限までにお振り込みください。振込手数料はお客様のご負担でお願いいたします。"]
            if inv.customer_number:  # the payer gives it before their name, so the payment finds its invoice
                rows.append(("お客様番号", inv.customer_number))
                notes.insert(
                    0,
                    f"お振込の際は、振込依頼人名の前にお客様番号をご入力ください (例: {inv.customer_number} ﾔﾏﾀﾞ ﾀﾛｳ)。",
                )
            heading = "お振込先"
        else:
            rows = [("口座振替日", jp_date(inv.debit_on) if inv.debit_on else "")]
            notes = ["ご登録の口座から上記の日に引き落とします。前日までに残高のご確認をお願いいたします。"]
            heading = "口座振替のご案内"
        height = 8 + 5.2 * len(rows) + 5 * len(notes)
        self._need(height + 4)
        top = self.top
        s.box(LEFT, top, RIGHT - LEFT, height, stroke=0.6, line_width=0.4)
        s.text(LEFT + 3, top + 5.5, heading, 9.5, bold=True)
        row = top + 11
        for label, value in rows:
            s.text(LEFT + 6, row, label, 9, grey=0.3)
            s.text(LEFT + 30, row, value, 9.5, bold=label in ("振込期限", "口座振替日"))
            row += 5.2
        for note in notes:
            s.text(LEFT + 6, row, note, 8, grey=0.35)
            row += 5
        self.top = top + height + 5

    def _reference(self, heading: str, reason_label: str, footnote: str) -> None:
        """A correction or a return invoice: the document it refers to, with its issue date, and why."""
        inv, s = self.invoice, self.sheet
        issued = f"（{jp_date(inv.replaces_issued_on)}発行）" if inv.replaces_issued_on else ""
        reason = wrap(inv.reason or "", RIGHT - LEFT - 40, 9.5)
        height = 8 + 5.2 * (1 + len(reason)) + 5
        self._need(height + 4)
        top = self.top
        s.box(LEFT, top, RIGHT - LEFT, height, stroke=0.6, line_width=0.4)
        s.text(LEFT + 3, top + 5.5, heading, 9.5, bold=True)
        s.text(LEFT + 6, top + 11, "対象の請求書", 9, grey=0.3)
        s.text(LEFT + 34, top + 11, f"{inv.replaces}{issued}", 9.5)
        s.text(LEFT + 6, top + 16.2, reason_label, 9, grey=0.3)
        row = top + 16.2 + s.lines(LEFT + 34, top + 12.8, reason, 9.5, 5.2)
        s.text(LEFT + 6, row, footnote, 8, grey=0.35)
        self.top = top + height + 5

    def _usage(self) -> None:
        usage, s = self.invoice.usage, self.sheet
        chart_height = 24.0 if usage.daily else 0.0
        self._need(24 + chart_height)
        top = self.top
        s.text(LEFT, top + 4, "ご利用状況 (顧客レコード数)", 9.5, bold=True)
        s.rule(LEFT, top + 6, RIGHT, width=0.3, grey=0.6)
        observed = _observed_at(usage.peak_observed_at)
        rows = [
            ("当月のピーク", f"{usage.peak:,}件" + (f" ({observed} 記録)" if observed else "")),
            ("料金区分", f"{usage.bracket_low:,}〜{usage.bracket_high:,}件 (第{usage.bracket:,}区分)"),
            ("月初の件数", f"{usage.opening_count:,}件"),
        ]
        row = top + 11
        for label, value in rows:
            s.text(LEFT + 3, row, label, 9, grey=0.3)
            s.text(LEFT + 27, row, value, 9, bold=label == "当月のピーク")
            row += 4.8
        if usage.daily:
            self._daily_chart(row - 1.5, chart_height)
        self.top = row + chart_height + 3

    def _daily_chart(self, top: float, height: float) -> None:
        """Daily highs as bars, the peak day dark: shows where the fee came from."""
        usage, s = self.invoice.usage, self.sheet
        first, last = self.invoice.period_start, self.invoice.period_end
        days = (last - first).days + 1
        highest = max(max(d.high for d in usage.daily), usage.opening_count, 1)
        plot_top, plot_height = top + 3, height - 9
        left, width = LEFT + 14, RIGHT - LEFT - 14
        slot = width / days
        s.text(left - 1, plot_top + 2, f"{highest:,}", 6.5, align="right", grey=0.4)
        s.text(left - 1, plot_top + plot_height, "0", 6.5, align="right", grey=0.4)
        s.rule(left, plot_top + plot_height, left + width, width=0.3, grey=0.5)
        peak_date = usage.peak_observed_at[:10] if usage.peak_observed_at else None
        for day in usage.daily:
            index = (date.fromisoformat(day.date) - first).days
            bar = plot_height * day.high / highest
            fill = 0.2 if day.date == peak_date and day.high == usage.peak else 0.7
            s.box(
                left + index * slot + slot * 0.15, plot_top + plot_height - bar, slot * 0.7, bar, fill=fill, stroke=None
            )
        for index in range(0, days, 5):
            s.text(
                left + (index + 0.5) * slot, plot_top + plot_height + 3.2, f"{index + 1}日", 6, align="centre", grey=0.4
            )


def _addressee_lines(invoice: Invoice) -> list[str]:
    """Company, department and person, with 様 after a person, else 御中 after the last name."""
    contact = invoice.recipient
    names = [name for name in (contact.company_name, contact.department) if name]
    if contact.person_name:
        return [*names, f"{contact.person_name} 様"]
    return [*names[:-1], f"{names[-1]} 御中"]


@dataclass(frozen=True)
class PlacedLine:
    """One line of text as drawn: left edge and baseline in mm from the sheet's top-left."""

    text: str
    x: float
    baseline: float
    size: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in mm: the advance width, and the font's ascent and descent."""
        em = self.size * 0.3528
        return (self.x, self.baseline - 0.88 * em, self.x + text_width(self.text, self.size), self.baseline + 0.12 * em)


def address_block(invoice: Invoice) -> list[PlacedLine]:
    """The lines of the address window: the largest type at which everything fits the window's inner box.

    Lines are wrapped to the inner width at every size; the block is checked
    against the inner height by its lines' leading, which is taller than the
    ink. Only a contact longer than the API accepts (a record stored before
    the limits) can still be too tall at the floor: its last line is cut with …
    """
    contact = invoice.recipient
    inner_width = WINDOW_WIDTH_MM - 2 * WINDOW_PADDING_MM
    inner_height = WINDOW_HEIGHT_MM - 2 * WINDOW_PADDING_MM
    names = _addressee_lines(invoice)
    for size, name_size, factor in WINDOW_TYPE_STEPS:
        leading = size * 0.3528 * factor
        head = [f"〒{contact.postal_code}", *wrap(contact.address, inner_width, size)]
        body = [line for name in names for line in wrap(name, inner_width, name_size)]
        if leading * (len(head) + len(body)) + NAME_GAP_MM <= inner_height:
            break
    else:  # too tall even at the floor: keep the lines that fit
        fits = int((inner_height - NAME_GAP_MM) // leading)
        head = _cut(head, min(len(head), fits), inner_width, size)
        body = _cut(body, fits - len(head), inner_width, name_size)
    x = WINDOW_X_MM + WINDOW_PADDING_MM
    top = WINDOW_TOP_MM + WINDOW_PADDING_MM
    placed = []
    for lines, line_size, gap in ((head, size, NAME_GAP_MM), (body, name_size, 0.0)):
        for line in lines:
            placed.append(PlacedLine(line, x, top + line_size * 0.3528 * 0.88, line_size))
            top += leading
        top += gap
    return placed


def _cut(lines: list[str], keep: int, width_mm: float, size: float) -> list[str]:
    if keep >= len(lines):
        return lines
    if keep == 0:
        return []
    last = lines[keep - 1]
    while last and text_width(last + "…", size) > width_mm:
        last = last[:-1]
    return [*lines[: keep - 1], last + "…"]


def _observed_at(iso: str | None) -> str | None:
    if iso is None:
        return None
    moment = datetime.fromisoformat(iso)
    return f"{jp_date(moment.date())} {moment:%H:%M}"
