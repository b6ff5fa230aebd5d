"""How ``close_month`` reports its result: the summary lines and the tables it prints."""

from __future__ import annotations

import json

from benchmarks import _reporting as reporting
from benchmarks._projection import ISSUE_CONCURRENCY


def summary(result: dict) -> list[str]:
    close, calls, projection = result["close"], result["calls"], result["projection"]
    return [
        f"{result['accounts']} accounts closed locally in {close['wall_s']:.0f} s"
        f" ({close['invoices_per_s']:.1f} invoices/s); {calls['per_invoice_total']:.1f} AWS calls per invoice"
        f" ({calls['dynamodb_writes_per_invoice']:.1f} DynamoDB writes,"
        f" {calls['dynamodb_reads_per_invoice']:.1f} reads)",
        f"projection for 1,000,000 on AWS: {projection['wall_minutes']:.0f} min at"
        f" {projection['issue_rate_per_s']:.0f} invoices/s (model, not measured)",
    ]


def print_result(result: dict) -> None:
    close, verification, calls, cost = result["close"], result["verification"], result["calls"], result["cost"]
    projection = result["projection"]
    seeded = result["seed"]
    n = result["accounts"]
    reporting.print_table(
        f"Close {result['month']}: {n} accounts on the local stack (measured)",
        [
            ["", "value"],
            ["moto", result["moto"]],
            [
                "seeding over HTTP: profiles/s, reports/s",
                f"{seeded['profiles_per_s']:.0f}, {seeded['reports_per_s']:.0f}",
            ],
            ["close-month wall time (CLI)", f"{close['wall_s']:.1f} s"],
            ["  first to last function AWS call", f"{close['first_to_last_function_call_s']:.1f} s"],
            [
                "  invoices/s (whole run; steady PDF rate)",
                f"{close['invoices_per_s']:.1f}; {close['steady_pdfs_per_s']}",
            ],
            [
                "invoices / numbers / counter",
                f"{verification['invoices']} / {verification['numbers']['first']}.."
                f"{verification['numbers']['last']} / {verification['counter_seq']}",
            ],
            ["PDFs in S3 (versions)", f"{verification['pdf_objects']} ({verification['pdf_versions']})"],
            [
                "close run (total, issued, skipped, failed, pages)",
                ", ".join(
                    str(verification["close_run"].get(k, 0)) for k in ("total", "issued", "skipped", "failed", "pages")
                ),
            ],
            ["dead letters", json.dumps(verification["dead_letters"])],
            [
                "IssueInvoice handler ms / CPU ms per invoice",
                f"{cost['issue_handler_ms_per_invoice']} / {cost['issue_cpu_ms_per_invoice']}",
            ],
            [
                "DeliverInvoice handler ms / CPU ms per invoice",
                f"{cost['deliver_handler_ms_per_invoice']} / {cost['deliver_cpu_ms_per_invoice']}",
            ],
            [
                "moto CPU ms per invoice; DynamoDB lock held (of which CPU)",
                f"{cost['moto_cpu_ms_per_invoice']}; {cost['moto_dynamodb_busy_s']} s"
                f" ({cost['moto_dynamodb_busy_cpu_s']} s)",
            ],
        ],
    )
    rows = [["AWS calls per invoice (measured)", "issue", "deliver", "close_month"]]
    names = sorted({*calls["issue_invoice"], *calls["deliver_invoice"], *calls["close_month_per_invoice"]})
    for name in names:
        rows.append(
            [
                name,
                calls["issue_invoice"].get(name, ""),
                calls["deliver_invoice"].get(name, ""),
                calls["close_month_per_invoice"].get(name, ""),
            ]
        )
    rows.append(["total per invoice", calls["per_invoice_total"], "", ""])
    reporting.print_table("AWS calls per invoice", rows)
    fixed = calls["close_month_fixed"]
    print(f"  close_month fixed work: {fixed['calls']} calls for {fixed['pages']} pages")
    for name, count in fixed["by_operation"].items():
        print(f"    {name}: {count}")
    numbering = calls["numbering"]
    print(
        f"  numbering: {numbering['page_claims_won']} page blocks reserved, {numbering['page_claims_lost']} lost"
        f" races between pages; {numbering['issuer_counter_calls']} counter calls by the issuers"
    )
    print("  local runner (Lambda's event source mapping stand-in) and the CLI, not per invoice:")
    for name, count in calls["runner"].items():
        print(f"    {name}: {count}")
    if calls["issue_errors"]:
        print(f"  non-ok function calls: {calls['issue_errors']}")
    reporting.print_table(
        "PROJECTION: 1,000,000 accounts on AWS (a model from the measured calls; see assumptions in the JSON)",
        [
            ["", "value"],
            ["per-invoice time (AWS calls + Lambda CPU)", f"{projection['per_invoice_ms']['total']} ms"],
            [
                f"issue rate, {ISSUE_CONCURRENCY} issuers (cap of the progress items)",
                f"{projection['issue_rate_per_s']}/s ({projection['progress_items_cap_per_s']}/s)",
            ],
            ["fan-out of 1M accounts", f"{projection['fanout_minutes']} min"],
            ["wall time for 1M accounts", f"{projection['wall_minutes']} min"],
            ["counter writes for 1M accounts", f"{projection['counter_writes_at_1m']:,}"],
            ["DynamoDB requests", f"{projection['requests_at_1m_totals']['dynamodb']:,}"],
            [
                "S3 PutObject / HeadObject",
                f"{projection['requests_at_1m'].get('s3.PutObject', 0):,} /"
                f" {projection['requests_at_1m'].get('s3.HeadObject', 0):,}",
            ],
        ],
    )
    reporting.print_machine(result)
    reporting.print_checks(result["checks"])
    for line in close["log_errors_tail"]:
        print(f"  log: {line[:200]}")
