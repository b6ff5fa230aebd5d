"""The change confirmation page: server-rendered Japanese HTML, reached from the confirmation email.

The emailed token is the only credential, so the pages keep it to themselves:
the confirmation page holds it only in the form's hidden field, and every
page is sent with ``no-store`` (no cache keeps it), ``no-referrer`` (no
Referer carries the link onwards) and a Content-Security-Policy that allows
one inline stylesheet, known by its hash, and a form posted back to this
site: no scripts, images, fonts or frames, nothing loaded from elsewhere.

Everything shown that came from a customer (contact fields can hold ``<``,
quotes or ``&``) is escaped here, once. No boto3.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape

from billing import months
from billing.contracts.change_requests import ChangeRequest
from billing.errors import BillingError
from billing.japanese import jp_month

Rows = list[tuple[str, str | None, str | None]]  # (label, before, after), as change_rows gives them

_STYLE = """
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;
  color:#222;background:#f6f7f9;font-size:16px;line-height:1.6}
main{max-width:560px;margin:0 auto;padding:16px}
h1{font-size:1.3rem;margin:8px 0 12px}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:14px;margin-bottom:16px}
.change{border-bottom:1px solid #eef;padding:10px 0}
.change:last-child{border-bottom:0}
.label{font-weight:bold;margin:0 0 4px}
.before,.after{margin:0;overflow-wrap:anywhere}
.before{color:#667}
.after{color:#0b3d91;font-weight:bold}
.tag{display:inline-block;min-width:3.5em;font-size:.8rem;font-weight:normal;color:#556}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dt{color:#667}dd{margin:0;overflow-wrap:anywhere}
button{display:block;width:100%;min-height:52px;margin:8px 0;padding:12px;border:0;border-radius:8px;
  background:#1a56db;color:#fff;font-size:1.1rem;font-weight:bold}
.note{font-size:.9rem;color:#556}
.result{font-size:1.05rem}
"""

# The page's only style, allowed by its hash: no 'unsafe-inline', so injected markup could style nothing.
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}
EMPTY = "（なし）"

# code -> (heading, what to do); the status is the error's own.
_ERRORS = {
    "invalid_request": (
        "リンクが正しくありません",
        "メールに記載されたリンクを、途中で切れないように開き直してください。",
    ),
    "invalid_token": (
        "確認コードが一致しません",
        "メールに記載されたリンクを、そのまま開き直してください。",
    ),
    "already_applied": (
        "この変更はすでに確定しています",
        "確認用のリンクは一度だけ使えます。変更はご請求先情報に反映済みです。",
    ),
    "token_expired": (
        "確認の有効期限が切れています",
        "確認用のリンクは、お申し込みから7日間有効です。お手数ですが、もう一度変更をお申し込みください。",
    ),
    "approval_required": (
        "担当者の承認が必要な変更です",
        "会社名（商号）の変更は、確認書類をいただいたうえで担当者が承認します。このページからは確定できません。",
    ),
    "month_closed": (
        "この変更は確定できません",
        "適用する月の締めが終わっています。お手数ですが、もう一度変更をお申し込みください。",
    ),
}
_NOT_FOUND = ("お申し込みが見つかりません", "メールに記載されたリンクが正しいか、ご確認ください。")
_FAILED = ("変更を確定できませんでした", "お手数ですが、しばらくしてからもう一度お試しください。")


def confirmation_page(request: ChangeRequest, rows: Rows, token: str) -> str:
    """What a GET shows: each change (before → after), when it applies, and the button that confirms it.

    The token goes only into the form's hidden field, to be posted back.
    """
    action = f"{escape(request.change_request_id)}/confirm"  # relative: the page's own path, whatever the stage
    body = f"""<h1>ご請求先情報の変更の確認</h1>
<p>次の内容で変更します。よろしければ「変更を確定する」を押してください。</p>
<section class="card changes">
{_changes(rows)}
</section>
<section class="card">
<dl>
<dt>適用</dt><dd class="effective">{_effective(request)}</dd>
<dt>受付番号</dt><dd class="request-id">{escape(request.change_request_id)}</dd>
<dt>有効期限</dt><dd class="expires">{_japanese_time(request.expires_at)}（日本時間）</dd>
</dl>
</section>
<form method="post" action="{action}">
<input type="hidden" name="token" value="{escape(token)}">
<button type="submit">変更を確定する</button>
</form>
<p class="note">このページを開いただけでは変更されません。お心当たりのない場合は、このページを閉じてください。</p>"""
    return _page("ご請求先情報の変更の確認", body)


def applied_page(applied: ChangeRequest, rows: Rows) -> str:
    """What a confirmation answers: the change is made, and from when it applies."""
    body = f"""<h1>変更を確定しました</h1>
<p class="result">ご請求先情報の変更を確定しました。{_effective(applied)}</p>
<section class="card changes">
{_changes(rows)}
</section>
<section class="card">
<dl>
<dt>受付番号</dt><dd class="request-id">{escape(applied.change_request_id)}</dd>
</dl>
</section>
<p class="note">発行済みの請求書は変わりません。このページは閉じてかまいません。</p>"""
    return _page("変更を確定しました", body)


def error_page(error: BillingError | None) -> tuple[int, str]:
    """The status and page for a refusal (``None``: something failed on our side)."""
    if error is None:
        status, (heading, advice) = 500, _FAILED
    elif error.status == 404:
        status, (heading, advice) = 404, _NOT_FOUND
    else:
        status, (heading, advice) = error.status, _ERRORS.get(error.code, _FAILED)
    body = f'<h1>{escape(heading)}</h1>\n<section class="card"><p class="advice">{escape(advice)}</p></section>'
    return status, _page(heading, body)


def _changes(rows: Rows) -> str:
    return "\n".join(
        f"""<div class="change">
<p class="label">{escape(label)}</p>
<p class="before"><span class="tag">変更前</span> <span class="value">{escape(before or EMPTY)}</span></p>
<p class="after"><span class="tag">変更後</span> <span class="value">{escape(after or EMPTY)}</span></p>
</div>"""
        for label, before, after in rows
    )


def _effective(request: ChangeRequest) -> str:
    month = request.effective_month
    if month:
        return f"{jp_month(month)}ご利用分から適用されます（その月が締め済みなら、締め前の最初の月から）。"
    return "確定した月のご利用分から適用されます。"


def _japanese_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(months.TOKYO)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )
