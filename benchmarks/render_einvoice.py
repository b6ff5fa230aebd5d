"""JP PINT e-invoice rendering: the XML of an invoice against the PDF of the same invoice.

Run: ``.venv/bin/python -m benchmarks.render_einvoice [--runs 500]``

Method
------
* The same October invoice as ``render_pdf`` (standard plan, one option, bank
  transfer, 31 daily highs) is built once with the domain code.
* Both renderers are warmed up first (the PDF's first call loads the font),
  then ``--runs`` renders of each are timed with ``perf_counter``,
  interleaved (XML, PDF, XML, PDF, ...) so that both see the same machine
  load, and the medians and 95th percentiles are reported.
* The XML time is ``render_einvoice`` (invoice to neutral document to UBL
  bytes); the hand checks, the official rules and the schema are not included. The PDF time is
  ``render_invoice_pdf``.
* The ratio is the XML median over the PDF median; the target is 1/10 or less.

Results print as a table and go to ``benchmarks/results/render_einvoice.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime

from benchmarks._reporting import print_table, write_result
from benchmarks._sample_invoice import sample_invoice
from benchmarks._support import ROOT, cpu_model, p95, use_pdf_layer

TARGET_RATIO = 0.1


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="timed renders of each")
    args = parser.parse_args(argv)
    use_pdf_layer()

    from billing.invoicing.einvoice import render_einvoice
    from invoice_pdf import render_invoice_pdf
    from tests.einvoice_checks import check_against_invoice  # the hand checks live with the tests

    invoice = sample_invoice()
    xml, pdf = render_einvoice(invoice), render_invoice_pdf(invoice)  # warm-up: font load, imports
    disagreements = check_against_invoice(xml, invoice)
    xml_ms, pdf_ms = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        xml = render_einvoice(invoice)
        xml_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        pdf = render_invoice_pdf(invoice)
        pdf_ms.append((time.perf_counter() - started) * 1000)
    xml_median, pdf_median = statistics.median(xml_ms), statistics.median(pdf_ms)
    ratio = xml_median / pdf_median
    result = {
        "benchmark": "render_einvoice",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "invoice": invoice.invoice_number,
        "runs": args.runs,
        "xml": {"median_ms": round(xml_median, 4), "p95_ms": round(p95(xml_ms), 4), "bytes": len(xml)},
        "pdf": {"median_ms": round(pdf_median, 3), "p95_ms": round(p95(pdf_ms), 3), "bytes": len(pdf)},
        "xml_over_pdf": round(ratio, 4),
        "targets": {"xml_over_pdf_at_most": TARGET_RATIO},
        "checks": {
            "xml_at_most_a_tenth_of_pdf": ratio <= TARGET_RATIO,
            "xml_says_what_the_invoice_says": not disagreements,
        },
    }
    rows = [
        ["renderer", "median ms", "p95 ms", "bytes"],
        ["JP PINT XML (render_einvoice)", f"{xml_median:.3f}", f"{p95(xml_ms):.3f}", len(xml)],
        ["PDF (render_invoice_pdf)", f"{pdf_median:.2f}", f"{p95(pdf_ms):.2f}", len(pdf)],
        ["XML / PDF", f"{ratio:.4f}", "", f"target <= {TARGET_RATIO}"],
    ]
    print_table(f"E-invoice vs PDF rendering ({result['machine']['cpu']}, Python {result['machine']['python']})", rows)
    print(f"\nresults: {write_result('render_einvoice', result).relative_to(ROOT)}")
    return result


def summary(result: dict) -> list[str]:
    return [
        f"XML {result['xml']['median_ms']:.3f} ms vs PDF {result['pdf']['median_ms']:.2f} ms "
        f"(x{result['xml_over_pdf']:.4f}; target <= {TARGET_RATIO})"
    ]


if __name__ == "__main__":
    main()
