"""The daily print run: per-letter cost of planning and of writing a 500-letter batch; a 100,000-letter projection.

Run: ``.venv/bin/python -m benchmarks.print_run [--letters 1000]``

Method
------
* In-process under moto's ``mock_aws``: the BillingTable from template.yaml's
  own key schema, an Object Lock bucket, the PrintRunQueue and
  PrintBatchQueue. ``--letters`` issued postal invoices (accounts with 1 to
  3 letters each) and their waiting letters are written first, untimed, with
  BatchWriteItem.
* **Planning**: the PrintRunFunction handler as the scheduler calls it
  (``{"date": ...}``), then its PrintRunQueue continuation messages until the
  day is planned: wall and CPU time (``process_time``), ÷ letters.
* **Printing**: the PrintBatchFunction handler with the first batch's
  PrintBatchQueue message (500 letters and the rest of its last account):
  wall and CPU, and the render alone (``render_statement_sheets``), ÷ letters.
* AWS calls are counted per operation with botocore ``before-call`` hooks on
  the handlers' own clients; moto's own CPU is timed around
  ``BotocoreStubber.process_request`` and taken out, so "ours" is our code,
  Powertools and botocore, without the emulator.
* **Projection** (a model, not a measurement): 100,000 letters in a day =
  200 batches. Each part costs its measured calls at the same assumed AWS
  latencies as ``benchmarks.close_month`` (both in ``benchmarks._projection``)
  plus its measured CPU without moto, scaled from this host to a Lambda of the
  template's memory (1,769 MB = 1 vCPU). The planner's calls are sequential;
  the printers run ``MaximumConcurrency`` at once (the template's).

Results print as a table and go to ``benchmarks/results/print_run.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime

from benchmarks import _reporting as reporting
from benchmarks import _support as support
from benchmarks._projection import AWS_LATENCY_DEFAULT_MS, AWS_LATENCY_MS, LAMBDA_FULL_VCPU_MB, priced

DAY = "2026-11-02"  # October's letters are posted on Monday 11/2
PROJECTED_LETTERS = 100_000


class Calls(Counter):
    def __call__(self, model, **_):
        self[f"{model.service_model.endpoint_prefix}.{model.name}"] += 1

    def priced_ms(self) -> float:
        return priced(self)


@contextlib.contextmanager
def measured(clients: list):
    calls, timer = Calls(), support.MotoTimer()
    for client in clients:
        client.meta.events.register("before-call", calls, unique_id="bench-print-run")
    wall, cpu = time.perf_counter(), time.process_time()
    result = {}
    with timer:
        yield calls, result
    result["wall_s"] = time.perf_counter() - wall
    result["cpu_s"] = time.process_time() - cpu
    result["moto_cpu_s"] = timer.seconds
    for client in clients:
        client.meta.events.unregister("before-call", unique_id="bench-print-run")


def seed(letters: int) -> int:
    """Issued postal invoices and their letters for DAY, written in batches; the number of accounts."""
    import boto3

    from billing.dal import clients, keys
    from billing.dal.invoices import document_record
    from billing.delivery.channels import plan_delivery
    from tests.unit.test_delivery_routing import invoice

    base = invoice("2026-10", "bank_transfer", "postal", "bench-0000", 1)
    items, account, sequence = [], 0, 1
    while sequence <= letters:
        for _ in range(min(1 + account % 3, letters - sequence + 1)):
            issued = replace(base, account_id=f"bench-{account:05d}", invoice_number=f"INV-202610-{sequence:07d}")
            record = document_record(issued) | {"status": "issued"} | plan_delivery(issued).as_record()
            letter = {
                "pk": keys.letters_pk(DAY),
                "sk": f"{issued.account_id}#{issued.invoice_number}",
                "account_id": issued.account_id,
                "month": issued.month,
                "invoice_number": issued.invoice_number,
            }
            items += [record, letter]
            sequence += 1
        account += 1
    client = boto3.client("dynamodb")
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": clients.to_item(item)}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={support.TABLE: requests})
    return account


def run(letters: int) -> dict:
    import boto3
    from moto import mock_aws

    support.use_project_paths()
    sys.path.insert(0, str(support.ROOT / "layers" / "pdf"))
    os.environ.update(support.HANDLER_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        support.create_tables(boto3.client("dynamodb"))
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="bench-invoices",
            CreateBucketConfiguration={"LocationConstraint": support.REGION},
            ObjectLockEnabledForBucket=True,
        )
        os.environ["INVOICE_BUCKET"] = "bench-invoices"
        sqs = boto3.client("sqs")
        for name, env in (("PrintRunQueue", "PRINT_RUN_QUEUE_URL"), ("PrintBatchQueue", "PRINT_BATCH_QUEUE_URL")):
            os.environ[env] = sqs.create_queue(QueueName=name)["QueueUrl"]
        accounts = seed(letters)

        from billing.dal import clients
        from tests.conftest import LambdaContext, load_event, load_function

        planner, printer = load_function("print_run"), load_function("print_batch")
        aws = [clients.dynamodb(), clients.s3(), clients.sqs()]
        with measured(aws) as (plan_calls, plan):
            summary = planner.lambda_handler({"date": DAY}, LambdaContext())
            calls_of_planner = 1
            while True:
                got = sqs.receive_message(QueueUrl=os.environ["PRINT_RUN_QUEUE_URL"], MaxNumberOfMessages=1)
                if not got.get("Messages"):
                    break
                event = sqs_event(load_event("print_batch.json"), got["Messages"])
                planner.lambda_handler(event, LambdaContext())
                calls_of_planner += 1
                sqs.delete_message(
                    QueueUrl=os.environ["PRINT_RUN_QUEUE_URL"], ReceiptHandle=got["Messages"][0]["ReceiptHandle"]
                )
        first = sqs.receive_message(QueueUrl=os.environ["PRINT_BATCH_QUEUE_URL"], MaxNumberOfMessages=1)["Messages"]
        render = printer.printer().render
        rendered = {"s": 0.0}

        def timed_render(invoices):
            start = time.perf_counter()
            try:
                return render(invoices)
            finally:
                rendered["s"] += time.perf_counter() - start

        printer.printer().render = timed_render
        with measured(aws) as (print_calls, batch):
            result = printer.lambda_handler(sqs_event(load_event("print_batch.json"), first), LambdaContext())
        assert result == {"batchItemFailures": []}, result
        from billing.dal.print_runs import PrintRunStore

        _, written = PrintRunStore(support.TABLE).batch(date.fromisoformat(DAY), 1)
        run_record = PrintRunStore(support.TABLE).run(date.fromisoformat(DAY))
    return {
        "letters": letters,
        "accounts": accounts,
        "batches": run_record.batches,
        "planner_calls": calls_of_planner,
        "first_call": {k: summary[k] for k in ("batches", "letters", "continues")},
        "planning": {**plan, "aws_calls": dict(plan_calls), "letters": letters},
        "printing": {
            **batch,
            "aws_calls": dict(print_calls),
            "letters": written.letters,
            "envelopes": written.envelopes,
            "render_s": rendered["s"],
        },
        "_priced_ms": {"planning": plan_calls.priced_ms(), "printing": print_calls.priced_ms()},
    }


def sqs_event(template_event: dict, messages: list[dict]) -> dict:
    record = template_event["Records"][0]
    template_event["Records"] = [
        {**record, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        for m in messages
    ]
    return template_event


def project(measured_run: dict, template: dict) -> dict:
    resources = template["Resources"]
    printer_mb = int(resources["PrintBatchFunction"]["Properties"].get("MemorySize", 512))
    planner_mb = int(
        resources["PrintRunFunction"]["Properties"].get(
            "MemorySize", template["Globals"]["Function"].get("MemorySize", 512)
        )
    )
    concurrency = int(
        resources["PrintBatchFunction"]["Properties"]["Events"]["PrintBatch"]["Properties"]["ScalingConfig"][
            "MaximumConcurrency"
        ]
    )
    plan, batch = measured_run["planning"], measured_run["printing"]
    plan_cpu_ms = (plan["cpu_s"] - plan["moto_cpu_s"]) * 1000 / plan["letters"] * LAMBDA_FULL_VCPU_MB / planner_mb
    plan_ms = plan_cpu_ms + measured_run["_priced_ms"]["planning"] / plan["letters"]
    print_cpu_ms = (batch["cpu_s"] - batch["moto_cpu_s"]) * 1000 / batch["letters"] * LAMBDA_FULL_VCPU_MB / printer_mb
    print_ms = print_cpu_ms + measured_run["_priced_ms"]["printing"] / batch["letters"]
    batches = -(-PROJECTED_LETTERS // 500)
    batch_s = print_ms * 500 / 1000
    planning_s = plan_ms * PROJECTED_LETTERS / 1000
    printing_s = batch_s * -(-batches // concurrency)
    return {
        "label": "PROJECTION (measured calls and CPU per letter, assumed AWS latencies), not a measurement",
        "letters": PROJECTED_LETTERS,
        "batches": batches,
        "planner_ms_per_letter": round(plan_ms, 3),
        "printer_ms_per_letter": round(print_ms, 2),
        "one_batch_s": round(batch_s, 1),
        "planning_s": round(planning_s, 1),
        "planner_invocations": -(-batches // 20),
        "planner_s_per_invocation": round(planning_s / -(-batches // 20), 1),
        "printing_s_with_concurrency": round(printing_s, 1),
        "printer_concurrency": concurrency,
        "total_s": round(planning_s + printing_s, 1),
        "assumptions": {
            "aws_latency_ms": AWS_LATENCY_MS,
            "other_call_ms": AWS_LATENCY_DEFAULT_MS,
            "cpu": f"this host's CPU without moto x {LAMBDA_FULL_VCPU_MB}/<function MB>",
        },
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=1000, help="letters waiting on the print day")
    args = parser.parse_args(argv)
    measured_run = run(args.letters)
    projection = project(measured_run, support.load_template())
    plan, batch = measured_run["planning"], measured_run["printing"]
    per = lambda seconds, n: seconds * 1000 / n  # noqa: E731
    result = {
        "benchmark": "print_run",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": support.machine(),
        "method": reporting.method(__doc__),
        **{k: v for k, v in measured_run.items() if not k.startswith("_")},
        "per_letter_ms": {
            "planning_wall": round(per(plan["wall_s"], plan["letters"]), 3),
            "planning_cpu_without_moto": round(per(plan["cpu_s"] - plan["moto_cpu_s"], plan["letters"]), 3),
            "printing_wall": round(per(batch["wall_s"], batch["letters"]), 2),
            "printing_cpu_without_moto": round(per(batch["cpu_s"] - batch["moto_cpu_s"], batch["letters"]), 2),
            "render": round(per(batch["render_s"], batch["letters"]), 2),
            "planning_aws_calls": round(sum(plan["aws_calls"].values()) / plan["letters"], 3),
            "printing_aws_calls": round(sum(batch["aws_calls"].values()) / batch["letters"], 2),
        },
        "projection": projection,
        "checks": {
            "batch_has_500_letters_or_more": batch["letters"] >= 500,
            "planner_call_bounded": measured_run["first_call"]["batches"] <= 20,
        },
    }
    rows = [
        ["per letter", "wall ms", "CPU ms without moto", "AWS calls"],
        [
            f"planning ({measured_run['letters']:,} letters, {measured_run['batches']} batches)",
            result["per_letter_ms"]["planning_wall"],
            result["per_letter_ms"]["planning_cpu_without_moto"],
            result["per_letter_ms"]["planning_aws_calls"],
        ],
        [
            f"printing one batch ({batch['letters']} letters, {batch['envelopes']} envelopes)",
            result["per_letter_ms"]["printing_wall"],
            result["per_letter_ms"]["printing_cpu_without_moto"],
            result["per_letter_ms"]["printing_aws_calls"],
        ],
        ["  of which the PDF render", result["per_letter_ms"]["render"], "", ""],
    ]
    reporting.print_table("print run under moto (in-process)", rows)
    reporting.print_table(
        f"projection: {PROJECTED_LETTERS:,} letters in a day on AWS (not measured)",
        [
            ["batches", projection["batches"]],
            [
                "planning (sequential, 20 batches a call)",
                f"{projection['planning_s']} s in {projection['planner_invocations']} calls"
                f" of {projection['planner_s_per_invocation']} s",
            ],
            ["one 500-letter batch", f"{projection['one_batch_s']} s"],
            [
                f"printing, {projection['printer_concurrency']} at once",
                f"{projection['printing_s_with_concurrency']} s",
            ],
            ["total", f"{projection['total_s']} s"],
        ],
    )
    path = reporting.write_result("print_run", result)
    print(f"\n(results in {path.relative_to(support.ROOT)})")
    return result


def summary(result: dict) -> list[str]:
    per, projection = result["per_letter_ms"], result["projection"]
    return [
        f"planning {per['planning_cpu_without_moto']} ms CPU/letter, printing {per['printing_cpu_without_moto']} ms"
        f" CPU/letter (render {per['render']} ms)",
        f"100,000 letters projected: {projection['total_s']} s ({projection['batches']} batches)",
    ]


if __name__ == "__main__":
    main()
