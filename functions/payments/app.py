"""Payments for operators: the bank's files, the payments they bring, allocations, and the receivables ageing
(HttpApi, AWS_IAM).

Triggered by:
- POST /v1/bank-statements: a Zengin 振込入金通知 (01) or 入出金取引明細 (03) file (application/octet-stream, at
  most 1 MB), checked whole first (400 ``invalid_bank_file``, naming the record and the field); its pages are
  imported by BankCreditsFunction, and this waits for them (202 with the counts so far if they take longer);
- GET /v1/payments: bank-file payments by 勘定日 and status (``unmatched`` is the review queue), oldest first;
- POST /v1/payments/{payment_id}/allocation ``{"account_id"}``: gives an unmatched payment to an account;
- DELETE /v1/payments/{payment_id}/allocation: takes an allocation back;
- GET /v1/receivables: the 売掛金年齢表, JSON or CSV.
Reads: the file's record, the payments, the accounts and their open documents in the BillingTable.
Writes: the file archived (S3, Object Lock) and recorded once; an allocation or its undoing in one transaction.
Emits: the file's BankCreditPagesQueue pages; ``InvoicePaid`` for each document an allocation paid off.
"""

from __future__ import annotations

import time
from itertools import islice
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from billing.bank_wiring import announce_settled, bank_imports
from billing.dal import stores
from billing.dal.bank_credits import credit_key, position
from billing.debit_wiring import tokyo_today
from billing.errors import (
    AccountNotFound,
    AllocationMoved,
    CreditAlreadyUsed,
    InvalidBankFile,
    InvalidRequest,
    NotFound,
    PaymentAlreadyAllocated,
    PaymentCancelled,
    PaymentNotAllocated,
)
from billing.http import create_resolver, documented, json_response, octet_body
from billing.observability import logger, tracer
from billing.payments.bank_credits import BankFile
from billing.payments.receivables import ageing, render_csv
from billing.payments.review_queue import PaymentSearch
from billing.schema.desk import LimitQuery, NextTokenQuery
from billing.schema.payments import (
    AgeingFormatQuery,
    AllocationIn,
    AsOfQuery,
    BankPaymentOut,
    BankPaymentsOut,
    BankStatementOut,
    PaymentIdPath,
    PaymentStatusQuery,
    ReceivablesOut,
    ReceivedFromQuery,
    ReceivedToQuery,
)

MAX_BANK_FILE_BYTES = 1024 * 1024
WAIT_FOR_IMPORT_S = 20.0  # the POST waits this long for the file's pages, well within API Gateway's 30 s

app = create_resolver()


def imported(file: BankFile) -> BankFile:
    """The file once every page is imported, or as it stands after ``WAIT_FOR_IMPORT_S``."""
    deadline = time.monotonic() + WAIT_FOR_IMPORT_S
    while not file.complete and time.monotonic() < deadline:
        time.sleep(0.25)
        file = stores.bank_credits().get_file(file.sha256)
    return file


@app.post(
    "/v1/bank-statements",
    summary="Import a bank file (application/octet-stream, Zengin 01 振込入金通知 or 03 入出金取引明細, at most"
    " 1 MB): checked whole first, each payment recorded once and matched; for operators",
    responses={
        **documented(BankStatementOut, InvalidBankFile, description="imported (a file sent again imports nothing)"),
        **documented(BankStatementOut, status=202, description="still importing after 20 s: the counts so far"),
    },
)
def import_bank_file():
    body = octet_body(app, MAX_BANK_FILE_BYTES)
    file, new = bank_imports().start(body)
    if not new:
        logger.info("bank file sent again", extra={"sha256": file.sha256, "records": file.records})
        return file.as_duplicate().as_json()
    file = imported(file)
    logger.info(
        "bank file imported", extra={"sha256": file.sha256, "complete": file.complete, **file.summary.as_json()}
    )
    return json_response(200 if file.complete else 202, file.summary.as_json())


@app.get(
    "/v1/payments",
    summary="Bank-file payments by 勘定日 and status, oldest first; status=unmatched is the review queue",
    responses=documented(BankPaymentsOut),
)
def list_payments(
    received_from: ReceivedFromQuery,
    received_to: ReceivedToQuery,
    status: PaymentStatusQuery = "all",
    *,
    limit: LimitQuery,
    next_token: NextTokenQuery = None,
):
    search = PaymentSearch(status, received_from, received_to)
    after = search.after(next_token) if next_token is not None else None
    listed = stores.bank_credits().listed(status, received_from, received_to, after)
    rows = list(islice(listed, limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    token = search.token(position(rows[-1])) if more else None
    return {"payments": [r.as_json() for r in rows], "next_token": token}


@app.post(
    "/v1/payments/<payment_id>/allocation",
    summary="Give an unmatched payment to an account: allocated oldest pay_by first, the rest as credit, and its"
    " payer name learned for the account; for operators",
    responses=documented(
        BankPaymentOut, NotFound, AccountNotFound, PaymentAlreadyAllocated, PaymentCancelled, InvalidRequest
    ),
)
def allocate(payment_id: PaymentIdPath, body: Annotated[AllocationIn, Body()]):
    credit_key(payment_id)  # NotFound for an id no bank file could have given
    stores.accounts().get(body.account_id)  # AccountNotFound before anything changes
    stored = stores.bank_credits().allocate(payment_id, body.account_id)
    announce_settled([stored])
    logger.info("payment allocated", extra={"payment_id": payment_id, "account_id": body.account_id})
    return stored.as_json()


@app.delete(
    "/v1/payments/<payment_id>/allocation",
    summary="Take a payment's allocation back: the documents' balances return and the payment waits again",
    responses=documented(BankPaymentOut, NotFound, PaymentNotAllocated, CreditAlreadyUsed, AllocationMoved),
)
def take_back(payment_id: PaymentIdPath):
    credit_key(payment_id)
    stored = stores.bank_credits().take_back(payment_id)
    logger.info("payment allocation taken back", extra={"payment_id": payment_id})
    return stored.as_json()


@app.get(
    "/v1/receivables",
    summary="The receivables ageing (売掛金年齢表): each account's balances by days past pay_by; JSON or CSV",
    responses=documented(
        ReceivablesOut,
        alternatives={
            "text/csv": "format=csv: the same columns and a totals row (Content-Disposition: attachment;"
            ' filename="receivables_<as_of>.csv"), UTF-8 with BOM, CRLF line ends, neutralised cells'
        },
    ),
)
def receivables(as_of: AsOfQuery = None, format: AgeingFormatQuery = "json"):
    as_of = as_of or tokyo_today()
    report = ageing(stores.receivables().owing(as_of), as_of)
    if format == "csv":
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=render_csv(report),
            headers={"Content-Disposition": f'attachment; filename="receivables_{as_of.isoformat()}.csv"'},
        )
    return report


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
