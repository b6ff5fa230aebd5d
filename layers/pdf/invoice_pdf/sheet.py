"""Drawing primitives for an A4 sheet, measured in millimetres from the top.

Invoice layouts are specified the way a printer or an envelope maker states
them (mm from the top-left corner of the sheet); reportlab measures points
from the bottom-left. This small wrapper does that conversion once, and
handles the one thing Japanese text needs that reportlab's canvas doesn't:
wrapping a line with no spaces at any character.

There is a single font (IPAexGothic, no bold face), so emphasis is drawn as
fill-and-stroke text (text render mode 2), a common pseudo-bold.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_NAME = "IPAexGothic"
FONT_PATH = Path(__file__).parent / "fonts" / "ipaexg.ttf"
PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
_FILL_STROKE = 2  # PDF text render mode: fill, then stroke the outline
_FILL = 0
_TOKEN = re.compile(r"[!-~]+|.")  # an ASCII run, or any one other character
# Characters a Japanese line must not start with (行頭禁則), kept on the line before.
_NO_LINE_START = set("、。，．,.)）」』】〕〉》ー・：:；;!！?？%％件様")


@functools.cache
def register_font() -> str:
    """Parse the 6 MB TrueType file once per process; every document reuses it.

    reportlab embeds only the glyphs a document uses (a subset named like
    ``AAAAAA+IPAexGothic``), so each PDF stays small. ``asciiReadable=False``
    lets one subset hold 255 glyphs instead of reserving 95 codes for ASCII,
    so an invoice needs one subset, not two (smaller and faster).

    The face's tables are read out of the file once, too: reportlab copies a table each time it asks for
    one, and every subset asks for the whole 5.6 MB ``glyf`` table to cut its glyphs from.
    """
    font = TTFont(FONT_NAME, str(FONT_PATH), asciiReadable=False)
    font.face.get_table = functools.cache(font.face.get_table)  # bytes: immutable, safe to share
    pdfmetrics.registerFont(font)
    return FONT_NAME


def text_width(text: str, size: float) -> float:
    """Width in mm of ``text`` at ``size`` points."""
    register_font()
    return pdfmetrics.stringWidth(text, FONT_NAME, size) / mm


def wrap(text: str, width_mm: float, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width_mm``.

    Japanese breaks between any two characters, but a run of ASCII such as
    ``123,456,789`` or ``(bridge)`` stays whole unless it alone is too wide.
    A character that must not start a line (、 。 様 ...) takes the previous
    character down with it (追い出し) rather than hanging past the margin, so
    no line is ever wider than ``width_mm``: an address in an envelope window
    has nowhere to hang.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for token in _TOKEN.findall(paragraph):
            # TrueType widths simply add up (reportlab applies no kerning).
            width = text_width(token, size)
            if line and used + width > width_mm:
                carry = ""
                if token[0] in _NO_LINE_START and len(line) > 1 and line[-1] not in _NO_LINE_START:
                    carried = line[-1] + token
                    if text_width(carried, size) <= width_mm:
                        line, carry = line[:-1], line[-1]
                lines.append(line.rstrip())
                token = (carry + token).lstrip()
                line, used = "", 0.0
                width = text_width(token, size)
            if width > width_mm and len(token) > 1:  # a token wider than the line: split it anywhere
                head = wrap_chars(line + token, width_mm, size)
                lines.extend(head[:-1])
                line = head[-1]
                used = text_width(line, size)
            else:
                line, used = line + token, used + width
        if len(line) == 1 and lines and len(lines[-1]) > 2:
            # No single-character last line (a lone 階): carry one character down.
            line = lines[-1][-1] + line
            lines[-1] = lines[-1][:-1]
        lines.append(line)
    return lines


def wrap_chars(text: str, width_mm: float, size: float) -> list[str]:
    """Break ``text`` at any character."""
    lines, line = [], ""
    for char in text:
        if line and text_width(line + char, size) > width_mm:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line]


class Sheet:
    """A canvas addressed in mm from the page's top-left corner.

    Every mark sets the fill grey, stroke grey and line width it uses, and the sheet writes only the ones
    that differ from what the page already has: a page of text is one ``g`` per change of grey, not five
    operators per string.
    """

    def __init__(self, canvas: Canvas):
        self.canvas = canvas
        self._state: dict[str, float] = {}  # what this page has set so far (nothing: a new page)

    def new_page(self) -> None:
        """End the page; the next one starts from PDF's defaults again."""
        self.canvas.showPage()
        self._state = {}

    def _set(self, fill: float | None = None, stroke: float | None = None, width: float | None = None) -> None:
        for name, value, setter in (
            ("fill", fill, self.canvas.setFillGray),
            ("stroke", stroke, self.canvas.setStrokeGray),
            ("width", width, self.canvas.setLineWidth),
        ):
            if value is not None and self._state.get(name) != value:
                setter(value)
                self._state[name] = value

    def _y(self, top_mm: float) -> float:
        return (PAGE_HEIGHT_MM - top_mm) * mm

    def text(
        self,
        x_mm: float,
        baseline_mm: float,
        text: str,
        size: float = 9,
        *,
        align: str = "left",
        bold: bool = False,
        grey: float = 0.0,
    ) -> None:
        canvas = self.canvas
        canvas.setFont(FONT_NAME, size)
        if bold:  # filled and outlined: the outline's grey and width matter too
            self._set(fill=grey, stroke=grey, width=size * 0.035)
        else:
            self._set(fill=grey)
        mode = _FILL_STROKE if bold else _FILL
        draw = {"left": canvas.drawString, "right": canvas.drawRightString, "centre": canvas.drawCentredString}[align]
        draw(x_mm * mm, self._y(baseline_mm), text, mode=mode)

    def lines(self, x_mm: float, top_mm: float, lines: list[str], size: float, leading_mm: float, **style) -> float:
        """Draw lines downwards from ``top_mm`` (the top of the first line); return the mm used."""
        baseline = top_mm + size * 0.3528 * 0.88  # ascent of IPAexGothic ≈ 0.88 em
        for line in lines:
            self.text(x_mm, baseline, line, size, **style)
            baseline += leading_mm
        return leading_mm * len(lines)

    def rule(self, x1_mm: float, top_mm: float, x2_mm: float, width: float = 0.5, grey: float = 0.0) -> None:
        self._set(stroke=grey, width=width)
        self.canvas.line(x1_mm * mm, self._y(top_mm), x2_mm * mm, self._y(top_mm))

    def box(
        self,
        x_mm: float,
        top_mm: float,
        width_mm: float,
        height_mm: float,
        *,
        fill: float | None = None,
        stroke: float | None = 0.0,
        line_width: float = 0.5,
    ) -> None:
        self._set(fill=fill, stroke=stroke, width=None if stroke is None else line_width)
        self.canvas.rect(
            x_mm * mm,
            self._y(top_mm + height_mm),
            width_mm * mm,
            height_mm * mm,
            stroke=int(stroke is not None),
            fill=int(fill is not None),
        )


def new_canvas(buffer, title: str, author: str, subject: str) -> Canvas:
    """A canvas whose bytes depend only on what is drawn.

    ``invariant=1`` fixes the creation date and the document ID that reportlab
    would otherwise take from the clock, so the same invoice always renders to
    the same bytes (an issued PDF can be re-made and compared).
    """
    register_font()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1, lang="ja", initialFontName=FONT_NAME)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setSubject(subject)
    canvas.setCreator("invoicing invoice_pdf")
    canvas.setProducer("ReportLab")
    return canvas
