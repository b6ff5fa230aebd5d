"""The operators' invoice desk (電子帳簿保存法): search issued documents, export them, read one.

Triggered by: PlatformApi (HttpApi, AWS_IAM; operators only: OperatorPolicy grants
it, PlatformCallerPolicy does not) GET /v1/invoices and
GET /v1/invoices/{invoice_number}.
Reads: the BillingTable's DocumentsByIssueDate index (one query per month and
shard of the range, merged oldest first) and each listed document's payment
state from its item (a BatchGetItem per 100 rows), DocumentsByNumber (a number's
account), the document item and its account's month; presigns the PDF in the
InvoiceBucket for 300 seconds.
Writes and emits: nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths

from billing import months
from billing.dal import stores
from billing.dal.invoice_search import with_payment_state
from billing.errors import InvalidRequest, NotFound
from billing.http import create_resolver, documented
from billing.invoicing import desk
from billing.invoicing.numbers import document_month, parse_document_number
from billing.observability import logger, tracer
from billing.payments.ledger import receivable_of
from billing.schema.desk import (
    CorrectionSuggestedQuery,
    CounterpartyQuery,
    DocumentNumberPath,
    FormatQuery,
    InvoiceDetailOut,
    InvoicesOut,
    IssuedFromQuery,
    IssuedToQuery,
    LimitQuery,
    MaxTotalQuery,
    MinTotalQuery,
    NextTokenQuery,
    OverdueQuery,
    PaymentStatusQuery,
)

app = create_resolver()


def tokyo_today():
    return months.day_of(datetime.now(UTC))


# Item attributes that only place the document in the table and its indexes.


@app.get(
    "/v1/invoices",
    summary="Issued documents by issue date, amount, counterparty and correction flag, oldest first; JSON or CSV",
    responses=documented(
        InvoicesOut,
        description="a page of documents; with format=csv, the whole result as a CSV download",
        alternatives={
            "text/csv": "format=csv: every match (up to 10,000) as one CSV download (Content-Disposition: "
            'attachment; filename="invoices_<issued_from>_<issued_to>.csv"), UTF-8 with BOM, CRLF line ends, '
            "one header row with the JSON list's fields in order; a cell a spreadsheet would run as a formula "
            "starts with '"
        },
    ),
)
def list_invoices(
    issued_from: IssuedFromQuery,
    issued_to: IssuedToQuery,
    min_total: MinTotalQuery = None,
    max_total: MaxTotalQuery = None,
    counterparty: CounterpartyQuery = None,
    correction_suggested: CorrectionSuggestedQuery = None,
    payment_status: PaymentStatusQuery = None,
    overdue: OverdueQuery = None,
    *,
    limit: LimitQuery,  # its default is the type's (billing.schema.desk)
    next_token: NextTokenQuery = None,
    format: FormatQuery = "json",
):
    search = desk.DocumentSearch(
        issued_from=issued_from,
        issued_to=issued_to,
        min_total=min_total,
        max_total=max_total,
        counterparty=counterparty,
        correction_suggested=correction_suggested,
        payment_status=payment_status,
        overdue=overdue,
    )
    if format == "csv":
        return _csv(search)
    after = desk.decode_token(search, next_token) if next_token is not None else None
    rows, more = stores.document_index().page(search, limit, after, tokyo_today())
    token = desk.encode_token(search, desk.position(rows[-1])) if more else None
    return {"invoices": [desk.row(r) for r in rows], "next_token": token}


@app.get(
    "/v1/invoices/<invoice_number>",
    summary="One document as issued: lines, totals per rate, recipient, terms, PDF link (300 s) and its history",
    responses=documented(InvoiceDetailOut, NotFound),
)
def get_invoice(invoice_number: DocumentNumberPath):
    try:
        parse_document_number(invoice_number)
    except ValueError as error:
        raise InvalidRequest(str(error)) from None
    account_id = stores.document_index().account_of(invoice_number)
    record = stores.invoices().get(account_id, invoice_number) if account_id else None
    if record is None:
        raise NotFound(f"no document numbered {invoice_number}")
    history = desk.history_order(stores.invoices().for_month(account_id, document_month(invoice_number)))
    detail = {
        **record,
        "correction_suggested": bool(record.get("correction_suggested")),
        "pdf_url": stores.archive().presigned_url(record["pdf_key"]) if record.get("pdf_key") else None,
        "history": [desk.row(with_payment_state(r)) for r in history],
    }
    if "amount_due" in record:  # an invoice or correction issued with the payment ledger
        detail |= receivable_of(record).as_json(tokyo_today())
    return {name: detail.get(name) for name in InvoiceDetailOut.model_fields}  # what the contract lists, no more


def _csv(search: desk.DocumentSearch) -> Response:
    """Every match at once (an inspector's download), up to CSV_MAX_ROWS; paging parameters are JSON only."""
    query = app.current_event.query_string_parameters or {}
    paging = sorted({"limit", "next_token"} & set(query))
    if paging:
        raise InvalidRequest(f"format=csv returns every match at once; drop {', '.join(paging)}")
    rows = list(islice(stores.document_index().search(search, today=tokyo_today()), desk.CSV_MAX_ROWS + 1))
    if len(rows) > desk.CSV_MAX_ROWS:
        raise InvalidRequest(
            f"more than {desk.CSV_MAX_ROWS:,} documents match; narrow the dates or add conditions, "
            "or page through them as JSON"
        )
    name = f"invoices_{search.issued_from}_{search.issued_to}.csv"
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        body=desk.render_csv(rows),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    return app.resolve(event, context)
