"""Invoice PDF rendering: reportlab with the embedded IPAex font, against an HTML-to-PDF engine.

Run: ``.venv/bin/python -m benchmarks.render_pdf [--runs 200] [--html-runs 5]``

Method
------
* One October invoice (standard plan, one option, bank transfer, 31 daily
  highs for the usage chart) is built once with the domain code.
* reportlab: ``render_invoice_pdf`` on that invoice. The first call (which
  parses the 6 MB TrueType file and registers the font) is timed on its own;
  then ``--runs`` warm renders are timed with ``perf_counter`` and the median
  and 95th percentile reported. Each PDF embeds a subset of the font.
  A print batch of 100 invoices (``render_statement_sheets``) is timed too and
  divided by 100.
* HTML engine: the same invoice as an HTML page in Japanese (same content,
  same IPAex font via @font-face, so the PDFs embed the same font), printed by
  Debian's headless Chromium in two ways:
  1. *cold*: one ``chromium --headless --print-to-pdf`` process per invoice,
     the way a function that shells out to a browser works;
  2. *warm*: one browser kept running, driven over the DevTools protocol on
     a pipe (``--remote-debugging-pipe``): navigate, wait for fonts, then
     ``Page.printToPDF``; browser start-up is excluded.
  If Chromium is not installed, the output says so and no HTML figure is
  reported (never estimated).
* The ratio is the engine's median over reportlab's warm median.

Results print as a table and go to ``benchmarks/results/render_pdf.json``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import html
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks._reporting import print_table, write_result
from benchmarks._sample_invoice import sample_invoice
from benchmarks._support import ROOT, cpu_model, p95, use_pdf_layer

TARGET_MS = 10.0
TARGET_RATIO = 100.0
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


# -- reportlab -----------------------------------------------------------------------------------


def bench_reportlab(invoice, runs: int) -> dict:
    from dataclasses import replace

    from billing.invoicing.numbers import invoice_number

    started = time.perf_counter()
    import invoice_pdf  # the import's cost belongs to the first render

    pdf = invoice_pdf.render_invoice_pdf(invoice)
    first_ms = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        pdf = invoice_pdf.render_invoice_pdf(invoice)
        timings.append((time.perf_counter() - started) * 1000)
    batch = [replace(invoice, invoice_number=invoice_number(invoice.month, n)) for n in range(1, 101)]
    started = time.perf_counter()
    batch_pdf = invoice_pdf.render_statement_sheets(batch)
    batch_ms = (time.perf_counter() - started) * 1000
    return {
        "engine": f"reportlab {_version('reportlab')} + IPAexGothic subset",
        "runs": runs,
        "first_render_ms_including_font_load": round(first_ms, 2),
        "median_ms": round(statistics.median(timings), 3),
        "p95_ms": round(p95(timings), 3),
        "pdf_bytes": len(pdf),
        "batch_100_ms_per_invoice": round(batch_ms / len(batch), 3),
        "batch_100_pdf_bytes": len(batch_pdf),
    }


# -- HTML to PDF ----------------------------------------------------------------------------------


def invoice_html(invoice) -> str:
    """The same invoice as a print-ready HTML page (what an HTML-template renderer would make)."""
    from billing.japanese import jp_date, yen
    from billing.vocabulary import PAYMENT_LABELS

    font = (ROOT / "layers" / "pdf" / "invoice_pdf" / "fonts" / "ipaexg.ttf").as_uri()
    e = html.escape
    issuer, contact, usage = invoice.issuer, invoice.recipient, invoice.usage
    rows = "".join(
        f"<tr><td>{e(li.description)}</td><td>{e(li.detail)}</td><td>{li.tax_rate_percent}%</td>"
        f"<td class=r>{yen(li.amount)}</td></tr>"
        for li in invoice.lines
    )
    taxes = "".join(
        f"<tr><td>{t.rate_percent}%対象 小計</td><td class=r>{yen(t.subtotal)}</td></tr>"
        f"<tr><td>消費税 ({t.rate_percent}%)</td><td class=r>{yen(t.tax)}</td></tr>"
        for t in invoice.tax_summary
    )
    highest = max(d.high for d in usage.daily)
    bars = "".join(f'<i style="height:{100 * d.high / highest:.1f}%"></i>' for d in usage.daily)
    bank = issuer.bank
    return f"""<!doctype html><html lang="ja"><meta charset="utf-8"><style>
@font-face {{ font-family: IPAexGothic; src: url("{font}"); }}
@page {{ size: A4; margin: 0; }}
body {{ font-family: IPAexGothic; font-size: 9pt; margin: 12mm 18mm; }}
.window {{ position: absolute; left: 22mm; top: 17mm; width: 90mm; height: 45mm; padding: 4mm; font-size: 10.5pt; }}
.head {{ text-align: right; }} .issuer {{ position: absolute; left: 122mm; top: 30mm; width: 70mm; }}
h1 {{ margin-top: 55mm; text-align: center; letter-spacing: 0.5em; font-size: 20pt; }}
table {{ width: 100%; border-collapse: collapse; }} td, th {{ padding: 1.5mm; border-bottom: 0.3pt solid #999; }}
th {{ background: #e0e0e0; text-align: left; }} .r {{ text-align: right; }}
.total {{ font-size: 17pt; font-weight: bold; }} .box {{ border: 0.4pt solid #999; padding: 3mm; margin: 4mm 0; }}
.chart {{ display: flex; align-items: flex-end; height: 20mm; gap: 1mm; }}
.chart i {{ flex: 1; background: #aaa; }}
</style><body>
<div class=head>請求書番号 {invoice.invoice_number}<br>発行日 {jp_date(invoice.issued_on)}<br>
お客様ID {invoice.account_id}</div>
<div class=window>〒{contact.postal_code}<br>{e(contact.address)}<br>{e(contact.company_name)}<br>
{e(contact.department or "")}<br>{e(contact.person_name or "")} 様</div>
<div class=issuer><b>{e(issuer.name)}</b><br>登録番号 {issuer.registration_number}<br>〒{issuer.postal_code}<br>
{e(issuer.address)}<br>TEL {issuer.phone}</div>
<h1>請求書</h1><p style="font-size:13pt">{e(invoice.recipient_line)}</p>
<p>下記のとおりご請求申し上げます。</p><p>ご請求金額 (税込) <span class=total>{yen(invoice.total)}</span></p>
<p>取引期間 {jp_date(invoice.period_start)}〜{jp_date(invoice.period_end)} /
お支払方法 {PAYMENT_LABELS[invoice.payment_method]} / 振込期限 {jp_date(invoice.due_on)}</p>
<table><tr><th>内容</th><th>数量</th><th>税率</th><th class=r>金額 (税抜)</th></tr>{rows}</table>
<table style="width:45%;margin-left:55%">{taxes}
<tr><td><b>合計 (税込)</b></td><td class=r><b>{yen(invoice.total)}</b></td></tr></table>
<div class=box><b>お振込先</b><br>
{e(bank.bank_name)} {e(bank.branch_name)} {bank.account_type} {bank.account_number}<br>
口座名義 {e(bank.account_holder)}<br>振込期限 {jp_date(invoice.due_on)}</div>
<b>ご利用状況 (顧客レコード数)</b><p>当月のピーク {usage.peak:,}件 ({e(usage.peak_observed_at or "")})<br>
料金区分 {usage.bracket_low:,}〜{usage.bracket_high:,}件</p><div class=chart>{bars}</div>
</body></html>"""


def chromium_binary() -> str | None:
    return next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)


def bench_chromium_cold(binary: str, page: Path, workdir: Path, runs: int) -> dict:
    timings, size = [], 0
    for n in range(runs):
        out = workdir / f"cold-{n}.pdf"
        command = [
            binary,
            *CHROMIUM_FLAGS,
            "--no-pdf-header-footer",
            f"--user-data-dir={workdir / 'profile-cold'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        timings.append((time.perf_counter() - started) * 1000)
        size = out.stat().st_size
    return {"runs": runs, "median_ms": round(statistics.median(timings), 1), "pdf_bytes": size}


class _DevTools:
    """A minimal DevTools-protocol client over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, binary: str, workdir: Path):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Move the child's ends clear of 3 and 4 before dup2 puts them there.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child_r, from_child_w)]

        def wire():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={workdir / 'profile-warm'}"],
            preexec_fn=wire,  # places the pipe on fds 3 and 4, where Chromium expects it
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (to_child_r, from_child_w, *high):
            os.close(fd)
        self._next_id, self._buffer = 0, b""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=self.session)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def wait_for(self, event: str) -> None:
        while self._read().get("method") != event:
            pass

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def print_page(self, url: str) -> bytes:
        self.call("Page.navigate", session=self.session, url=url)
        self.wait_for("Page.loadEventFired")
        self.call("Runtime.evaluate", session=self.session, expression="document.fonts.ready", awaitPromise=True)
        result = self.call("Page.printToPDF", session=self.session, printBackground=True, preferCSSPageSize=True)
        return base64.b64decode(result["data"])

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # the browser may close the pipe before answering
            self.call("Browser.close")
        self.process.wait(timeout=30)
        os.close(self._to_child)
        os.close(self._from_child)


def bench_chromium_warm(binary: str, page: Path, workdir: Path, runs: int) -> dict:
    browser = _DevTools(binary, workdir)
    try:
        browser.print_page(page.as_uri())  # warm-up: the first page loads the font
        timings, pdf = [], b""
        for _ in range(runs):
            started = time.perf_counter()
            pdf = browser.print_page(page.as_uri())
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        browser.close()
    return {"runs": runs, "median_ms": round(statistics.median(timings), 1), "pdf_bytes": len(pdf)}


# -- report ----------------------------------------------------------------------------------------


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="warm reportlab renders to time")
    parser.add_argument("--html-runs", type=int, default=5, help="Chromium prints to time (each way)")
    args = parser.parse_args(argv)
    use_pdf_layer()

    invoice = sample_invoice()
    ours = bench_reportlab(invoice, args.runs)
    result = {
        "benchmark": "render_pdf",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": cpu_model(), "cpus": os.cpu_count()},
        "invoice": invoice.invoice_number,
        "reportlab": ours,
        "targets": {"median_ms_at_most": TARGET_MS, "times_faster_at_least": TARGET_RATIO},
    }
    rows = [
        ["engine", "median ms/invoice", "PDF bytes", "x slower than reportlab"],
        [ours["engine"], f"{ours['median_ms']:.2f}", ours["pdf_bytes"], "1"],
        ["  same, 100-invoice print batch", f"{ours['batch_100_ms_per_invoice']:.2f}", ours["batch_100_pdf_bytes"], ""],
        ["  same, first render incl. font load", f"{ours['first_render_ms_including_font_load']:.1f}", "", ""],
    ]
    binary = chromium_binary()
    if binary is None:
        result["html"] = {"available": False, "reason": "chromium not installed (apt-get install -y chromium)"}
        note = "HTML engine unavailable: chromium is not installed, so no ratio was measured."
    else:
        version = " ".join(subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()[:2])
        with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
            workdir = Path(tmp)
            page = workdir / "invoice.html"
            page.write_text(invoice_html(invoice), encoding="utf-8")
            cold = bench_chromium_cold(binary, page, workdir, args.html_runs)
            warm = bench_chromium_warm(binary, page, workdir, args.html_runs)
        for entry in (cold, warm):
            entry["times_slower_than_reportlab"] = round(entry["median_ms"] / ours["median_ms"], 1)
        result["html"] = {"available": True, "engine": version, "cold_process": cold, "warm_browser": warm}
        rows.append(
            [
                f"{version}, one process per invoice",
                f"{cold['median_ms']:.1f}",
                cold["pdf_bytes"],
                cold["times_slower_than_reportlab"],
            ]
        )
        rows.append(
            [
                f"{version}, warm browser (DevTools)",
                f"{warm['median_ms']:.1f}",
                warm["pdf_bytes"],
                warm["times_slower_than_reportlab"],
            ]
        )
        note = ""
    result["meets_targets"] = {
        "median_ms": ours["median_ms"] <= TARGET_MS,
        "times_faster": result["html"].get("cold_process", {}).get("times_slower_than_reportlab", 0) >= TARGET_RATIO
        if result["html"]["available"]
        else None,
    }
    print_table(f"Invoice PDF rendering ({result['machine']['cpu']}, Python {result['machine']['python']})", rows)
    if note:
        print(note)
    print(f"\nresults: {write_result('render_pdf', result).relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
