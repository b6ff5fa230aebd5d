"""Debit runs for operators: make a date's run, read it, and import the bank's results (HttpApi, AWS_IAM).

Triggered by:
- POST /v1/debit-runs ``{"debit_date": "YYYY-MM-DD"}``: makes the date's run now (201 the first time, 200 with
  the same run after that) and waits a few seconds for its fan-out to archive the request file;
- GET /v1/debit-runs/{debit_date}: the run, with its results once imported;
- POST /v1/debit-runs/{debit_date}/results: the bank's result file (application/octet-stream, at most 1 MB),
  checked whole against the run before anything changes (400 ``invalid_bank_file``, naming the record and the
  field); the same file again answers the same, another is 409 ``results_already_imported``.
Reads: the run's record (and, to import results, its parts) in the BillingTable; the archived request file
(presigned, 300 s).
Writes: the run's record (started; results recorded once).
Emits: the run's DebitRunPagesQueue pages, and one DebitResultsQueue message per account of an imported file.
"""

from __future__ import annotations

import time
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from billing.dal import stores
from billing.debit_wiring import debit_runs
from billing.errors import DebitRunNotRequested, InvalidBankFile, NotFound, ResultsAlreadyImported
from billing.http import create_resolver, documented, json_response, octet_body
from billing.observability import logger, tracer
from billing.payments.debit_runs import DebitRun, RunStatus, check_debit_date
from billing.schema.debit_runs import DebitResultsOut, DebitRunIn, DebitRunOut
from billing.schema.params import DatePath

MAX_RESULT_FILE_BYTES = 1024 * 1024
WAIT_FOR_FILE_S = 20.0  # the POST waits this long for the fan-out to archive the file, well within 30 s

app = create_resolver()


def run_view(run: DebitRun) -> dict:
    skipped = [{"account_id": account_id, "reason": reason} for account_id, reason in run.skipped]
    results = None
    if run.results is not None:
        results = {"debit_date": run.debit_date.isoformat(), **run.results.as_json()}
    body = {
        "debit_date": run.debit_date.isoformat(),
        "status": run.status.value,
        "records": run.records,
        "total": run.total,
        "skipped": skipped,
        "file_url": stores.archive().presigned_url(run.file_key, 300) if run.file_key else None,
        "sha256": run.sha256,
        "results": results,
    }
    return DebitRunOut.model_validate(body).model_dump(mode="json")


def planned(run: DebitRun) -> DebitRun:
    """The run once its file is archived, or as it stands after ``WAIT_FOR_FILE_S``."""
    deadline = time.monotonic() + WAIT_FOR_FILE_S
    while run.status is RunStatus.PLANNING and time.monotonic() < deadline:
        time.sleep(0.25)
        run = stores.debit_runs().get(run.debit_date)
    return run


@app.post(
    "/v1/debit-runs",
    summary="Make a debit date's run now: the Zengin request file of every direct-debit account due that day;"
    " for operators",
    responses={
        **documented(DebitRunOut, status=201, description="made"),
        **documented(DebitRunOut, description="the date's run, made before: nothing changed"),
    },
)
def make_run(body: Annotated[DebitRunIn, Body()]):
    run, created = debit_runs().start(body.debit_date)
    logger.info("debit run requested", extra={"debit_date": body.debit_date.isoformat(), "new": created})
    return json_response(201 if created else 200, run_view(planned(run)))


@app.get(
    "/v1/debit-runs/<debit_date>",
    summary="A debit run: its status, records, total, skipped accounts, request file and results; for operators",
    responses=documented(DebitRunOut, NotFound),
)
def get_run(debit_date: DatePath):
    check_debit_date(debit_date)
    run = stores.debit_runs().get(debit_date)
    if run is None:
        raise NotFound(f"no debit run for {debit_date.isoformat()}")
    return run_view(run)


@app.post(
    "/v1/debit-runs/<debit_date>/results",
    summary="Import the bank's result file of a debit run (application/octet-stream, Zengin 91, at most 1 MB):"
    " checked whole first, then each account paid, failed or released; for operators",
    responses=documented(DebitResultsOut, NotFound, InvalidBankFile, ResultsAlreadyImported, DebitRunNotRequested),
)
def import_results(debit_date: DatePath):
    check_debit_date(debit_date)
    body = octet_body(app, MAX_RESULT_FILE_BYTES)
    summary = debit_runs().import_results(debit_date, body)
    logger.info("debit results imported", extra={"debit_date": debit_date.isoformat(), **summary.as_json()})
    return {"debit_date": debit_date.isoformat(), **summary.as_json()}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
