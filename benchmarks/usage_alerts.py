"""Usage alerts: what the usage watch's alerts cost per reading, in AWS calls and time, with alerts on and off.

The bar (the issue's): UsageWatchFunction handles a batch of 100 readings with at most one read per account
and one conditional write per alert. This measures it for three batches of 100 readings (20 accounts × 5):

1. ``quiet``: alerts on, every peak rises within the first bracket below 90 % of 10,000 (no read for alerts);
2. ``crossing``: alerts on, every peak rises from 8,000 to 12,000 (one crossed alert per account);
3. ``alerts_off``: ``usage_alerts: false`` on every account, the counts of ``crossing``.

Method
------
* **moto in this process** (``mock_aws``), with the template's table (and its stream), bucket, queues, bus and
  verified SES sender made as the integration tests make them, with their moto patches (``local.moto_backend``).
* **The world** (``benchmarks._usage_world``): for each batch, ``--accounts`` new accounts (standard + bridge)
  stored with the domain's stores with the scenario's ``usage_alerts``; then 5 readings each, a day apart in
  November 2026 at 09:00 +09:00, recorded as the count API records them (``UsageStore.record``); the table's
  stream read since the accounts' creation (``tests/integration/stream.py``) is the batch: each reading is a
  profile MODIFY (the count gate's ``last#<month>``, the churn watch's) and a usage item INSERT or MODIFY (its
  day high, the alerts'), 200 records for 100 readings, all of which the template's FilterCriteria let through.
  Under moto there are 20 more: an UpdateItem that creates an item streams a key-only INSERT before the item's
  own, which the handler passes over (no reading, no day high). The batch must hold 100 rises of a peak.
* **Handled**: UsageWatchFunction's ``lambda_handler`` (loaded as Lambda loads ``functions/usage_watch/app.py``)
  with the batch, as one invocation; it must report no failure.
* **Counted**: every botocore call of the handler, attributed to the watch that made it: the alerts'
  (``usage_alert_watch().observe``) or the churn watch's (``churn_watch().observe``), by service, operation and
  the DynamoDB item kind (PROFILE, USAGE, CHURN_STATE). Every repetition must make the same calls.
* **Timed**: the handler's wall time only (not the world's set-up), its EMF metrics written to /dev/null, per
  reading; the median of ``--repetitions`` batches per scenario, the scenarios taking turns in each round, after
  one unmeasured warm-up batch. moto's own CPU (``support.MotoTimer``) is measured in the same run and taken
  out for a second figure, "without moto" (the handler, botocore and the counting hook).
* **moto in-process times are not Lambda times**: moto answers in microseconds of this process's CPU where
  DynamoDB, EventBridge and SES answer over the network. The ratios of ``crossing`` and ``alerts_off`` to
  ``quiet`` are the figures to compare, and the calls per reading the figures to carry over.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections import Counter

import pytest
from moto import mock_aws

from benchmarks import _reporting as reporting
from benchmarks import _support as support

NAME = "usage_alerts"


def run(accounts: int = 20, repetitions: int = 5) -> dict:
    support.use_project_paths()
    from benchmarks._usage_world import CROSSING, READINGS_PER_ACCOUNT, SCENARIOS, batch_of, counted_by_watch
    from billing.dal import clients
    from billing.dal.stores import clear
    from billing.dal.usage_alerts import peak_rise
    from billing.settings import settings
    from billing.usage_watch_wiring import churn_watch, usage_alert_watch
    from local.moto_backend import patch_moto_transactions
    from tests.integration.conftest import TABLE, create_resources
    from tests.integration.stream import Stream

    def forget() -> None:
        for cached in (clients.dynamodb, clients.s3, clients.sqs, clients.events, clients.sesv2, settings):
            cached.cache_clear()
        for cached in (usage_alert_watch, churn_watch):  # they keep the stores they were built with
            cached.cache_clear()
        clear()

    patch_moto_transactions()
    readings_per_batch = accounts * READINGS_PER_ACCOUNT
    calls: dict[str, Counter] = {}
    wall_ms: dict[str, list[float]] = {scenario.name: [] for scenario in SCENARIOS}
    moto_ms: dict[str, list[float]] = {scenario.name: [] for scenario in SCENARIOS}
    mismatches: list[str] = []
    env_values = {name: value for name, value in support.HANDLER_ENV.items() if name != "TABLE_NAME"}
    with pytest.MonkeyPatch.context() as env, mock_aws(), open(os.devnull, "w") as devnull:
        for name, value in {**env_values, "TABLE_NAME": TABLE}.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        forget()
        create_resources(env)
        watch = support.load_function("usage_watch")  # after the environment: Powertools reads it on import
        stream = Stream()

        def handle(scenario, prefix: str) -> tuple[Counter, float, float]:
            started = time.perf_counter()
            batch, readings = batch_of(scenario, prefix, accounts, stream)
            rises = sum(1 for record in batch["Records"] if peak_rise(record))
            if readings != readings_per_batch or rises != readings:
                raise RuntimeError(f"{prefix}: {readings} readings, {rises} rises in {len(batch['Records'])} records")
            set_up = time.perf_counter() - started
            with counted_by_watch(watch) as counted, contextlib.redirect_stdout(devnull), support.MotoTimer() as moto:
                started = time.perf_counter()
                answer = watch.lambda_handler(batch, support.LambdaContext())
                took = time.perf_counter() - started
            if answer != {"batchItemFailures": []}:
                raise RuntimeError(f"{prefix}: the handler reported {answer}")
            print(
                f"  {prefix}: {len(batch['Records'])} records of {readings} readings handled in {took * 1000:.0f} ms"
                f" (set up in {set_up:.1f} s), {sum(counted.values())} AWS calls"
            )
            return counted, took, moto.seconds

        handle(CROSSING, "warm-up")  # imports, the tariff, the issuer and the mail templates, once per process
        for repetition in range(repetitions):
            turn = repetition % len(SCENARIOS)
            for scenario in SCENARIOS[turn:] + SCENARIOS[:turn]:
                counted, took, moto_s = handle(scenario, f"{scenario.name}-{repetition + 1}")
                if scenario.name not in calls:
                    calls[scenario.name] = counted
                elif counted != calls[scenario.name]:
                    mismatches.append(f"{scenario.name} repetition {repetition + 1}")
                wall_ms[scenario.name].append(took * 1000 / readings_per_batch)
                moto_ms[scenario.name].append(moto_s * 1000 / readings_per_batch)
        forget()

    figures = {
        scenario.name: figures_of(scenario, calls[scenario.name], wall_ms, moto_ms, accounts, readings_per_batch)
        for scenario in SCENARIOS
    }
    ratios = {
        figure: {
            name: round(figures[name][figure] / figures["quiet"][figure], 2) for name in ("crossing", "alerts_off")
        }
        for figure in ("ms_per_reading_local", "ms_per_reading_without_moto")
    }
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": support.machine(),
        "note": "moto in-process times are not Lambda times: compare the ratios, and carry over the calls",
        "accounts": accounts,
        "readings_per_batch": readings_per_batch,
        "repetitions": repetitions,
        "scenarios": figures,
        "ratio_to_quiet": ratios,
        "checks": checks_of(figures, accounts, mismatches),
    }


def figures_of(scenario, calls: Counter, wall_ms: dict, moto_ms: dict, accounts: int, readings: int) -> dict:
    from benchmarks._usage_world import WATCHES, by_watch

    def per_reading(counts: Counter) -> dict:
        return {name: round(n / readings, 3) for name, n in sorted(counts.items())}

    shares = {watch: by_watch(calls, watch) for watch in (*WATCHES, "other")}
    bare = [wall - moto for wall, moto in zip(wall_ms[scenario.name], moto_ms[scenario.name], strict=True)]
    return {
        "about": scenario.about,
        "usage_alerts": scenario.usage_alerts,
        "counts": f"{scenario.first_count:,} to {scenario.last_count:,}",
        "accounts": accounts,
        "readings": readings,
        "calls": {watch: dict(sorted(counts.items())) for watch, counts in shares.items() if counts},
        "calls_by_item": {
            watch: dict(sorted(by_watch(calls, watch, with_kind=True).items())) for watch in shares if shares[watch]
        },
        "calls_per_reading": {watch: per_reading(counts) for watch, counts in shares.items() if counts},
        "calls_per_reading_total": {
            watch: round(sum(counts.values()) / readings, 3) for watch, counts in shares.items() if counts
        },
        "ms_per_reading_local": round(support.median(wall_ms[scenario.name]), 3),
        "ms_per_reading_runs": [round(ms, 3) for ms in wall_ms[scenario.name]],
        "moto_cpu_ms_per_reading": round(support.median(moto_ms[scenario.name]), 3),
        "ms_per_reading_without_moto": round(support.median(bare), 3),
    }


def checks_of(figures: dict, accounts: int, mismatches: list[str]) -> dict[str, bool]:
    from benchmarks._usage_world import WATCHES

    def alerts(name: str) -> dict:
        return figures[name]["calls"].get("alerts", {})

    def reads(name: str) -> int:
        return sum(n for op, n in alerts(name).items() if op.split(".")[1] in support.READ_OPERATIONS)

    def writes(name: str) -> int:
        return sum(n for op, n in alerts(name).items() if op.split(".")[1] in support.WRITE_OPERATIONS)

    crossing, off = alerts("crossing"), alerts("alerts_off")
    sent = crossing.get("sesv2.SendEmail", 0)
    churn = {name: figures[name]["calls"].get("churn", {}) for name in figures}
    return {
        f"quiet: no call for alerts ({sum(alerts('quiet').values())})": not alerts("quiet"),
        f"crossing: one profile read per account ({reads('crossing')} for {accounts})": reads("crossing") == accounts
        and figures["crossing"]["calls_by_item"]["alerts"].get("dynamodb.GetItem PROFILE") == accounts,
        f"crossing: one alert sent per account ({sent}), one event each": sent == accounts
        and crossing.get("events.PutEvents") == sent,
        f"crossing: 2 conditional writes per alert sent ({writes('crossing')} for {sent})": writes("crossing")
        == 2 * sent,
        f"alerts off: one read per account ({reads('alerts_off')}), nothing written or sent": reads("alerts_off")
        == accounts
        and set(off) == {"dynamodb.GetItem"},
        "churn: one GetItem and one PutItem per account in every batch": all(
            calls == {"dynamodb.GetItem": accounts, "dynamodb.PutItem": accounts} for calls in churn.values()
        ),
        "every call is the alerts' or the churn watch's": all(
            set(figures[name]["calls"]) <= set(WATCHES) for name in figures
        ),
        f"the same calls in every repetition ({', '.join(mismatches) or 'no difference'})": not mismatches,
    }


def summary(result: dict) -> list[str]:
    scenarios, ratios = result["scenarios"], result["ratio_to_quiet"]

    def line(name: str) -> str:
        totals = scenarios[name]["calls_per_reading_total"]
        return (
            f"{name}: {totals.get('alerts', 0):.2f} alert calls + {totals.get('churn', 0):.2f} churn calls per reading,"
            f" {scenarios[name]['ms_per_reading_local']:.2f} ms per reading (moto in-process)"
        )

    local, bare = ratios["ms_per_reading_local"], ratios["ms_per_reading_without_moto"]
    return [
        *(line(name) for name in scenarios),
        f"ratio to quiet: crossing {local['crossing']:.2f}x, alerts off {local['alerts_off']:.2f}x"
        f" (without moto's CPU {bare['crossing']:.2f}x, {bare['alerts_off']:.2f}x)",
    ]


def print_result(result: dict) -> None:
    reporting.print_machine(result)
    scenarios = result["scenarios"]
    names = list(scenarios)
    operations = sorted(
        {
            (watch, op)
            for figures in scenarios.values()
            for watch, ops in figures["calls_per_reading"].items()
            for op in ops
        }
    )
    rows: list[list[object]] = [["calls per reading", *names]]
    for watch, op in operations:
        rows.append(
            [f"{watch}: {op}", *(scenarios[name]["calls_per_reading"].get(watch, {}).get(op, 0) for name in names)]
        )
    for watch in ("alerts", "churn"):
        rows.append([f"{watch}: total", *(scenarios[name]["calls_per_reading_total"].get(watch, 0) for name in names)])
    ratios = result["ratio_to_quiet"]
    for figure, label in (
        ("ms_per_reading_local", "ms per reading"),
        ("ms_per_reading_without_moto", "  without moto"),
    ):
        rows.append([f"{label} (median)", *(scenarios[name][figure] for name in names)])
        rows.append(["  ratio to quiet", 1.0, *(ratios[figure].get(name, 1.0) for name in names[1:])])
    reporting.print_table(
        f"usage watch, batches of {result['readings_per_batch']} readings ({result['accounts']} accounts × 5),"
        f" moto in-process, median of {result['repetitions']}",
        rows,
    )
    print(f"  note: {result['note']}")
    reporting.print_checks(result["checks"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.usage_alerts", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20, help="accounts in each batch, 5 readings each (default 20)")
    parser.add_argument("--repetitions", type=int, default=5, help="batches timed per scenario (default 5)")
    args = parser.parse_args(argv)
    return reporting.finish(NAME, run(args.accounts, args.repetitions), print_result)


if __name__ == "__main__":
    main()
