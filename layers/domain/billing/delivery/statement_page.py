"""The statements page (GET /statements): server-rendered HTML in Japanese.

No framework and no external assets: one small inline stylesheet and, for
each month, an inline SVG chart of the daily record-count highs with the
10,000-record bracket lines and the peak marked, so a customer can see at a
glance why a bill went up (「急に請求金額が上がったのは何故ですか?」).

The page opens with the current month so far (今月のご利用状況, the body of
GET /v1/usage/current): the peak, its bracket, the running estimate and the
same chart, before the month is billed.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from billing import months
from billing.japanese import jp_date, jp_month, yen
from billing.vocabulary import InvoiceStatus

STATUS_LABELS = {"pending": "準備中", "published": "WEB公開済", "batched": "印刷待ち", "posted": "郵送済"}
PAYMENT_LABELS = {"bank_transfer": "お振込期限", "direct_debit": "口座振替日"}
CHART_WIDTH, CHART_HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 320, 150, 44, 22, 14

_STYLE = """
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;
  margin:0;color:#222;background:#f6f7f9}
main{max-width:760px;margin:0 auto;padding:16px}
.einvoice{display:inline-block;margin-left:12px;font-size:.9em}
.documents{margin:8px 0;padding-left:18px;font-size:.9em;color:#444}
.final{margin-left:8px;padding:1px 6px;border:1px solid #b00;color:#b00;font-size:.8em;border-radius:3px}
h1{font-size:1.3rem;margin:8px 0 16px}
.statement{background:#fff;border:1px solid #dde;border-radius:8px;padding:14px;margin-bottom:16px}
.statement h2{font-size:1.1rem;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0 0 10px}
dt{color:#667}dd{margin:0}
.amount{font-size:1.25rem;font-weight:bold}
.status{display:inline-block;padding:1px 8px;border-radius:10px;background:#e8f0fe;font-size:.85rem}
.payment{display:inline-block;padding:1px 8px;border-radius:10px;background:#eef7ee;font-size:.85rem}
.payment.overdue{background:#fde8e8;color:#b00}
a.pdf{display:inline-block;margin-top:6px;padding:8px 14px;background:#1a56db;color:#fff;
  border-radius:6px;text-decoration:none}
svg{width:100%;height:auto;max-width:640px;display:block}
.chart-note{font-size:.85rem;color:#555;margin:4px 0 0}
.empty{color:#667}
.current{background:#fff;border:1px solid #dde;border-top:4px solid #1a56db;border-radius:8px;
  padding:14px;margin-bottom:20px}
.current h2{font-size:1.1rem;margin:0 0 8px}
.current .month{color:#445;font-size:.95rem;font-weight:normal;margin-left:6px}
.current dd{min-width:0;overflow-wrap:anywhere}
.current small{color:#556}
.current .part{white-space:nowrap}
"""


def render_page(
    statements: list[dict],
    pdf_links: dict[str, str],
    einvoice_links: dict[str, str] | None = None,
    current: dict | None = None,
) -> str:
    """The whole page for a caller's statements (``detail`` bodies, newest first).

    ``pdf_links`` and ``einvoice_links`` map a month to the URL of its PDF and of its e-invoice (XML); ``current``
    is the month so far (``MonthReport.current_json``), shown first.
    """
    einvoice_links = einvoice_links or {}
    cards = "\n".join(_card(s, pdf_links.get(s["month"]), einvoice_links.get(s["month"])) for s in statements)
    if not statements:
        cards = '<p class="empty">表示できる請求書はまだありません。</p>'
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>ご請求明細</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>ご請求明細</h1>\n{current_card(current) if current else ''}{cards}\n</main></body></html>\n"
    )


def current_card(current: dict) -> str:
    """今月のご利用状況: the month so far, as GET /v1/usage/current answers it, with the statements' own chart."""
    bracket, estimate = current["bracket"], current["estimate"]
    usage = {  # the chart's reading of a month, as a statement's usage gives it
        "daily": current["daily"],
        "peak": current["peak"],
        "bracket": {"low": bracket["from"], "high": bracket["to"]},
        "opening_count": current["peak"],  # shown only when nothing was reported yet: then the peak is the opening
    }
    return f"""<section class="current" data-month="{escape(current["month"])}">
<h2>今月のご利用状況<span class="month">{jp_month(current["month"])}</span></h2>
<dl>
<dt>ピーク件数</dt><dd class="current-peak">{current["peak"]:,}件<br>
<small class="observed">{_observed(current)}</small></dd>
<dt>料金帯</dt><dd class="current-bracket">{bracket["from"]:,}〜{bracket["to"]:,}件</dd>
<dt>今月の見込み額</dt><dd class="current-estimate"><span class="amount">{yen(estimate["total"])}</span> (税込)<br>
<small><span class="part">小計 {yen(estimate["subtotal"])}</span> ・ \
<span class="part">消費税 {yen(estimate["tax"])}</span></small></dd>
</dl>
{chart(usage, explain=False)}
<p class="chart-note current-note">ご請求額は、月内の最大件数 (ピーク) が入る料金帯で決まります。\
月の途中で件数を削除しても、ピークは下がりません。見込み額は今の時点で月を締めた場合の金額です。</p>
</section>
"""


def _observed(current: dict) -> str:
    """When the peak was counted: the opening count stands from 00:00 on the 1st."""
    at = current["peak_observed_at"]
    if at is None:
        return "まだ件数の報告はありません"
    moment = datetime.fromisoformat(at).astimezone(months.TOKYO)
    if moment == months.month_start(current["month"]):
        return "月初の件数"
    return f"{jp_date(moment.date())} {moment:%H:%M} 時点"


def _card(s: dict, pdf_href: str | None, einvoice_href: str | None = None) -> str:
    pay_label = PAYMENT_LABELS[s["payment_method"]]
    pay_date = s.get("due_on") or s.get("debit_on")
    usage = s["usage"]
    return f"""<section class="statement" data-month="{escape(s["month"])}">
<h2>{jp_month(s["month"])}ご利用分{'<span class="final">最終請求</span>' if s.get("final") else ""}</h2>
<dl>
<dt>請求書番号</dt><dd class="number">{escape(s["invoice_number"])}</dd>
<dt>ご請求金額 (税込)</dt><dd class="amount">{yen(s["total"])}</dd>
<dt>{pay_label}</dt><dd class="pay-date">{jp_date_iso(pay_date)}</dd>
<dt>状態</dt><dd><span class="status">{STATUS_LABELS.get(s["status"], escape(s["status"]))}</span></dd>
{_payment(s)}<dt>ピーク件数</dt><dd class="peak">{usage["peak"]:,}件</dd>
</dl>
{_documents(s)}
{chart(usage)}
{f'<a class="pdf" href="{escape(pdf_href)}">請求書PDFを開く</a>' if pdf_href else ""}
{f'<a class="einvoice" href="{escape(einvoice_href)}">電子インボイス (XML)</a>' if einvoice_href else ""}
</section>"""


def _payment(s: dict) -> str:
    """お支払い状況, and what is still owed (a statement from before the payment ledger shows neither)."""
    if "payment_label" not in s:
        return ""
    owed = f'<dt>ご請求残高</dt><dd class="balance">{yen(s["balance"])}</dd>\n' if s["balance"] else ""
    overdue = " overdue" if s.get("overdue") else ""
    state = f'<dt>お支払い状況</dt><dd><span class="payment{overdue}">{escape(s["payment_label"])}</span></dd>\n'
    return state + owed + _pay_to(s.get("pay_to"))


def _pay_to(to: dict | None) -> str:
    """Where to transfer what is owed, and the customer number to give before the payer name."""
    if not to:
        return ""
    number = to.get("customer_number")
    ask = (  # the note inside the number's cell: the list is a two-column grid, and its first column fits its words
        f'<dt>お客様番号</dt><dd class="customer-number">{escape(number)}'
        f'<br><small class="note">お振込の際は、振込依頼人名の前にお客様番号をご入力ください。</small></dd>\n'
        if number
        else ""
    )
    return f'<dt>お振込先</dt><dd class="pay-to">{escape(to["account"])} {escape(to["holder"])}</dd>\n{ask}'


def _documents(s: dict) -> str:
    """The month's other documents: the invoices a correction replaced, and the return invoices."""
    replaced = [h for h in s.get("history", []) if h["status"] == InvoiceStatus.REPLACED]
    rows = [
        f'<li class="replaced">{escape(h["invoice_number"])}（{jp_date_iso(h["issued_on"])}発行）は'
        f"{escape(s['invoice_number'])}に訂正されました</li>"
        for h in replaced
    ]
    rows += [
        f'<li class="credit-note">返還 {escape(c["invoice_number"])}（{jp_date_iso(c["issued_on"])}）'
        f"{yen(c['total'])}（うち消費税 {yen(c['tax'])}）: {escape(c.get('reason') or '')}</li>"
        for c in s.get("credit_notes", [])
    ]
    return f'<ul class="documents">{"".join(rows)}</ul>' if rows else ""


def chart(usage: dict, explain: bool = True) -> str:
    """Daily highs as bars; bracket lines every 10,000; the peak day marked in red; with ``explain``, a note of
    why the month was billed as it was (a month still open says so itself)."""
    daily = usage["daily"]
    if not daily:
        return f'<p class="chart-note">この月の件数報告はありません (月初の件数 {usage["opening_count"]:,}件)。</p>'
    peak = usage["peak"]
    top = max(peak, usage["bracket"]["high"])
    plot_w, plot_h = CHART_WIDTH - PAD_LEFT - 6, CHART_HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / 31

    def y(count: int) -> float:
        return PAD_TOP + plot_h - plot_h * count / top

    parts = [
        f'<svg viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'aria-label="日別の最大登録件数 (ピーク {peak:,}件)">'
    ]
    for line in range(10_000, top + 1, 10_000):
        parts.append(
            f'<line class="bracket" x1="{PAD_LEFT}" x2="{CHART_WIDTH - 6}" y1="{y(line):.1f}" y2="{y(line):.1f}" '
            f'stroke="#99a" stroke-dasharray="3 3" stroke-width="0.6"/>'
            f'<text x="{PAD_LEFT - 3}" y="{y(line) + 3:.1f}" font-size="8" text-anchor="end" fill="#667">'
            f"{line // 10_000}万</text>"
        )
    peak_day = next((d["date"] for d in daily if d["high"] == peak), None)
    for day in daily:
        index = int(day["date"][-2:]) - 1
        is_peak = day["date"] == peak_day
        parts.append(
            f'<rect class="{"day peak" if is_peak else "day"}" data-date="{day["date"]}" data-high="{day["high"]}" '
            f'x="{PAD_LEFT + index * slot + slot * 0.15:.1f}" y="{y(day["high"]):.1f}" '
            f'width="{slot * 0.7:.1f}" height="{plot_h - (y(day["high"]) - PAD_TOP):.1f}" '
            f'fill="{"#d93025" if is_peak else "#8ab4f8"}"/>'
        )
    if peak_day:
        x = PAD_LEFT + (int(peak_day[-2:]) - 0.5) * slot
        anchor = "end" if x > CHART_WIDTH * 0.7 else "start"
        parts.append(
            f'<text class="peak-label" x="{x:.1f}" y="{max(y(peak) - 3, 9):.1f}" font-size="9" '
            f'text-anchor="{anchor}" fill="#d93025">ピーク {peak:,}件 ({int(peak_day[-2:])}日)</text>'
        )
    for index in range(0, 31, 5):
        parts.append(
            f'<text x="{PAD_LEFT + (index + 0.5) * slot:.1f}" y="{CHART_HEIGHT - 8}" font-size="8" '
            f'text-anchor="middle" fill="#667">{index + 1}日</text>'
        )
    parts.append(
        f'<line x1="{PAD_LEFT}" x2="{CHART_WIDTH - 6}" y1="{PAD_TOP + plot_h}" y2="{PAD_TOP + plot_h}" stroke="#334"/>'
    )
    parts.append("</svg>")
    if not explain:
        return "".join(parts)
    low, high = usage["bracket"]["low"], usage["bracket"]["high"]
    note = (
        f'<p class="chart-note">月内の最大件数 {peak:,}件 が {low:,}〜{high:,}件 の料金帯に入るため、'
        "この料金になりました。削除した件数もピークには含まれます。</p>"
    )
    return "".join(parts) + note


def jp_date_iso(text: str | None) -> str:
    return jp_date(date.fromisoformat(text)) if text else "-"
