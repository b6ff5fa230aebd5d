"""The BillingTable's single-table layout, in one place.

=====================  =======================  ==========================================
pk                     sk                       what
=====================  =======================  ==========================================
ACCOUNT#<id>           PROFILE                  billing profile; ``closed_through`` (last
                                                closed month); ``last#<YYYY-MM>`` the open
                                                month's last count (the write gate)
ACCOUNT#<id>           USAGE#<YYYY-MM>          ``day#<YYYY-MM-DD>`` day highs, opening
                                                count, and once closed the frozen last count
ACCOUNT#<id>           CHURN_STATE              洗い替え detection's state (stream consumer only):
                                                the latest reading folded in, the running high,
                                                the pending drop
ACCOUNT#<id>           INVOICE#<YYYY-MM>#<no.>  one document of the month (invoice, correction or
                                                return invoice): content, kind, status, PDF key
                                                and sha256
ACCOUNT#<id>           CHAIN#<YYYY-MM>          the month's chain of documents: what its return
                                                invoices gave back (``returned``, ``returned_tax``,
                                                per rate); each correction and return conditions
                                                on it
LETTERS#<YYYY-MM-DD>   <account>#<document no.> a letter waiting for (or claimed by) a print
                                                batch, by posting date; ``batch_id`` once claimed
PRINT#<YYYY-MM-DD>     RUN                      a print day's run: batches recorded, letters, the
                                                account planning resumes after, ``planned``,
                                                batches sent, ``written`` (numbers of written batches)
PRINT#<YYYY-MM-DD>     BATCH#<nnnn>             one recorded print batch: its letters in order; once
                                                written, its keys, letters and envelopes
MONTH#<YYYY-MM>        INVOICE_COUNTER          ``seq``: the month's last reserved invoice number
                                                (the close and corrections share the INV series)
MONTH#<YYYY-MM>        CREDIT_NOTE_COUNTER      ``seq``: the month's last return-invoice number (CN)
REQUEST#<sha256>       IDEMPOTENCY              a correction or return request once done: its
                                                request's hash and the document it made
MONTH#<YYYY-MM>        CLOSE_RUN                the month close: started, accounts total
MONTH#<YYYY-MM>        CLOSE_PAGE#<page id>     one fanned-out page: its accounts, the first of
                                                the invoice numbers reserved for them, the
                                                next page's cursor
MONTH#<YYYY-MM>#<shard> CLOSE_PROGRESS          issued, skipped and failed counts of one
                                                account shard (spread so no item is hot)
MONTH#<YYYY-MM>        CLOSE_FAILED#<account>   an account the close could not issue: its
                                                reserved ``sequence``, ``error``, ``failed_at``;
                                                removed once a retry issues it
CLOSES                 LATEST                   ``latest``: the latest month whose close has started;
                                                a new contract must start after it (or miss its bill)
CHURN#<YYYY-MM>        <account>#<drop micros>  one suspected 洗い替え episode, in the month of
                                                its drop (20-digit micros sort in time order);
                                                ``announced_at`` once ChurnSuspected is published
CHANGE#<id>            REQUEST                  a contract change: ``account_id``, status,
                                                changes, sha256 of its emailed token
DEBITRUN#<YYYY-MM-DD>  RUN                      a debit date's run: status, shards planned, the
                                                request file's key, sha256, records and total;
                                                once imported, the result file's sha256 and summary
DEBITRUN#<YYYY-MM-DD>  ACCOUNT#<account>        one account's part of the run: its debit record
                                                (documents, amount) or why it was skipped
PAYMENT#<payment id>   PAYMENT                  money applied once: its allocations and credit
CUSTOMERS              COUNTER                  the last customer number's sequence
CUSTOMER#<number>      CUSTOMER                 the account a customer number belongs to
BANKFILE#<sha256>      FILE                     an imported bank file: records, pages, pages done
                                                and their counts
CREDITS#<勘定日>        <payment id>             one bank-file payment: status, the account and
                                                allocations once matched (the review queue)
CREDITREF#<account>-   <勘定日>                  where a cancellation (取消) finds the payment it
<照会番号>-<amount>                              undoes
PAYER#<payer key>      PAYER                    the accounts paying under a normalised payer name
=====================  =======================  ==========================================

Indexes: ``AccountsByShard`` (profiles only, spread over ACCOUNT_SHARDS),
``DocumentsByIssueDate`` (documents only, by ``<issue month>#<shard>`` then
``<issued_on>#<number>``) and ``DocumentsByNumber`` (documents only, by number);
``billing.dal.invoice_search`` writes and reads the last two. ``DocumentsUndelivered``
(documents whose notice or letter is not recorded yet, by ``UNDELIVERED#<shard>`` then
when written): ``billing.dal.undelivered``. ``DocumentsByPayBy`` (documents with a
payment state, by ``<pay_by>#<account shard>`` then ``<account>#<number>``): the
debit runs, ``billing.dal.debit_runs``.
"""

import zlib

from billing.invoicing.numbers import document_month

PROFILE = "PROFILE"
INVOICE_COUNTER = "INVOICE_COUNTER"
CLOSE_RUN = "CLOSE_RUN"
CLOSE_PROGRESS = "CLOSE_PROGRESS"
CLOSE_FAILED = "CLOSE_FAILED#"
CHANGE_REQUEST = "REQUEST"
CHURN_STATE = "CHURN_STATE"
ACCOUNT_SHARDS = 16
ACCOUNTS_INDEX = "AccountsByShard"
DOCUMENTS_BY_ISSUE_DATE = "DocumentsByIssueDate"
DOCUMENTS_BY_NUMBER = "DocumentsByNumber"
DOCUMENTS_UNDELIVERED = "DocumentsUndelivered"
DOCUMENTS_BY_PAY_BY = "DocumentsByPayBy"
DEBIT_RUN = "RUN"
DEBIT_PART = "ACCOUNT#"


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def usage_sk(month: str) -> str:
    return f"USAGE#{month}"


def month_pk(month: str) -> str:
    return f"MONTH#{month}"


def close_page_sk(page_id: str) -> str:
    return f"CLOSE_PAGE#{page_id}"


def close_progress_key(month: str, shard: str) -> dict:
    """Where one shard's close progress is counted; every invoice adds to its own shard's item."""
    return key(f"{month_pk(month)}#{shard}", CLOSE_PROGRESS)


def account_progress_key(month: str, account_id: str) -> dict:
    """Where the close counts the account's outcome: its shard's progress item."""
    return close_progress_key(month, account_shard(account_id))


def close_failure_sk(account_id: str) -> str:
    return f"{CLOSE_FAILED}{account_id}"


def letters_pk(posting_on: str) -> str:
    return f"LETTERS#{posting_on}"


PRINT_RUN = "RUN"


def print_pk(day: str) -> str:
    return f"PRINT#{day}"


def print_batch_sk(number: int) -> str:
    return f"BATCH#{number:04d}"


def document_sk(number: str) -> str:
    """Every document of an account's month sorts together: its invoice, corrections and return invoices."""
    return f"INVOICE#{document_month(number)}#{number}"


def chain_sk(month: str) -> str:
    """A month's chain of documents: what its return invoices gave back, whichever document they named."""
    return f"CHAIN#{month}"


def month_documents_prefix(month: str) -> str:
    return f"INVOICE#{month}#"


def account_shard(account_id: str) -> str:
    return f"SHARD#{zlib.crc32(account_id.encode()) % ACCOUNT_SHARDS:02d}"


def all_shards() -> list[str]:
    return [f"SHARD#{shard:02d}" for shard in range(ACCOUNT_SHARDS)]


def last_attr(month: str) -> str:
    return f"last#{month}"


def late_attr(at_micros: int) -> str:
    """A late report on its closed month's usage item, by when it was observed: a repeat is the same report."""
    return f"late#{at_micros}"


def day_attr(day: str) -> str:
    return f"day#{day}"


def change_request_pk(change_request_id: str) -> str:
    return f"CHANGE#{change_request_id}"


def churn_pk(month: str) -> str:
    return f"CHURN#{month}"


def churn_sk_prefix(account_id: str) -> str:
    # "#" is not in an account id, so one account's prefix never matches another's
    return f"{account_id}#"


def churn_sk(account_id: str, dropped_at_micros: int) -> str:
    return f"{churn_sk_prefix(account_id)}{dropped_at_micros:020d}"


def debit_run_pk(debit_date: str) -> str:
    return f"DEBITRUN#{debit_date}"


def payment_key(payment_id: str) -> dict:
    return key(f"PAYMENT#{payment_id}", "PAYMENT")


def customer_pk(number: str) -> str:
    return f"CUSTOMER#{number}"


def bank_file_pk(sha256: str) -> str:
    return f"BANKFILE#{sha256}"


def credits_pk(day: str) -> str:
    return f"CREDITS#{day}"


def credit_ref_pk(reference: str) -> str:
    return f"CREDITREF#{reference}"


def payer_pk(payer_key: str) -> str:
    return f"PAYER#{payer_key}"


def due_keys(account_id: str, number: str, pay_by: str) -> dict:
    """A document's place in ``DocumentsByPayBy``: its due date's partition of its account's shard."""
    return {"due_shard": f"{pay_by}#{account_shard(account_id)}", "due_key": f"{account_id}#{number}"}


def key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


LATEST_CLOSE = key("CLOSES", "LATEST")
CUSTOMER_COUNTER = key("CUSTOMERS", "COUNTER")


CREDIT_NOTE_COUNTER = "CREDIT_NOTE_COUNTER"
IDEMPOTENCY = "IDEMPOTENCY"


def counter_key(month: str, series: str) -> dict:
    """The month's last number of a series: the close and corrections share INV's, return invoices have CN's."""
    return key(month_pk(month), INVOICE_COUNTER if series == "INV" else CREDIT_NOTE_COUNTER)


def idempotency_key(scope: str) -> dict:
    return key(f"REQUEST#{scope}", IDEMPOTENCY)
