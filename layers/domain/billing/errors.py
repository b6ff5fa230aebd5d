"""Domain errors, each carrying the HTTP contract's code and status.

The mapping from error to response lives here, once; handlers register a
single exception handler (see ``billing.http``) instead of catching each kind.
"""

from __future__ import annotations


class BillingError(Exception):
    code = "internal_error"
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidRequest(BillingError):
    code = "invalid_request"
    status = 400


class AccountNotFound(BillingError):
    code = "account_not_found"
    status = 404

    def __init__(self, account_id: str):
        super().__init__(f"no account with id {account_id!r}")


class MonthClosed(BillingError):
    code = "month_closed"
    status = 409

    def __init__(self, month: str):
        super().__init__(f"month {month} is already closed; its usage is frozen")


class ContractStartsInClosedMonth(MonthClosed):
    """A new contract whose first months include one already closed: that month's bill would never be made."""

    def __init__(self, contract_start: str, latest_closed: str):
        BillingError.__init__(
            self,
            f"contract_start {contract_start} falls in or before {latest_closed}, a month already closed:"
            " a new contract starts after the latest closed month",
        )


class CloseOutOfOrder(BillingError):
    """A month close asked for while an earlier month is still open (or after a later month closed): months close
    in order, so a count for an open month is never refused as closed, and one for a closed month is kept late."""

    code = "close_out_of_order"
    status = 409

    def __init__(self, month: str, open_month: str | None, why: str):
        super().__init__(f"{month} cannot be closed yet: {why}" if open_month else f"{month} cannot be closed: {why}")
        self.open_month = open_month


class AccountCancelled(BillingError):
    code = "account_cancelled"
    status = 409

    def __init__(self, account_id: str, contract_end: str):
        super().__init__(f"the contract of account {account_id!r} ended on {contract_end}")


class ContractNotStarted(BillingError):
    code = "contract_not_started"
    status = 409

    def __init__(self, account_id: str, contract_start: str):
        super().__init__(
            f"the contract of account {account_id!r} starts on {contract_start}: a count observed before that month"
            " is refused, so it can never become an opening count"
        )


class NotFound(BillingError):
    code = "not_found"
    status = 404


class ChangeRequestNotFound(BillingError):
    code = "change_request_not_found"
    status = 404

    def __init__(self, change_request_id: str):
        super().__init__(f"no change request with id {change_request_id!r}")


class InvalidToken(BillingError):
    code = "invalid_token"
    status = 400

    def __init__(self):
        super().__init__("the confirmation token does not match this change request")


class AlreadyApplied(BillingError):
    code = "already_applied"
    status = 409

    def __init__(self, change_request_id: str):
        super().__init__(f"change request {change_request_id} has already been applied; its token cannot be reused")


class TokenExpired(BillingError):
    code = "token_expired"
    status = 410

    def __init__(self, change_request_id: str):
        super().__init__(
            f"the token of change request {change_request_id} has expired (tokens last 7 days);"
            " request the change again"
        )


class ApprovalRequired(BillingError):
    code = "approval_required"
    status = 409

    def __init__(self, change_request_id: str):
        super().__init__(
            f"change request {change_request_id} changes the company name: an operator approves it, it cannot be"
            " confirmed by token"
        )


class ConfirmationRequired(BillingError):
    code = "confirmation_required"
    status = 409

    def __init__(self, change_request_id: str):
        super().__init__(
            f"change request {change_request_id} needs no approval: the billing contact confirms it from the email"
        )


class ChangeRequestRequired(BillingError):
    code = "change_request_required"
    status = 409

    def __init__(self, account_id: str):
        super().__init__(
            f"account {account_id!r} already exists with other terms: a PUT only creates a profile;"
            " change it with POST /v1/accounts/{account_id}/change-requests"
        )


class CancellationTooEarly(BillingError):
    code = "cancellation_too_early"
    status = 409

    def __init__(self, end_month: str, earliest: str):
        super().__init__(f"end_month {end_month} is too early: the earliest end month is {earliest}")


class AlreadyCancelled(BillingError):
    code = "already_cancelled"
    status = 409

    def __init__(self, account_id: str, end_month: str):
        super().__init__(
            f"account {account_id!r} already has a cancellation ending {end_month}; withdraw it first to change it"
        )


class CreditExceedsInvoice(BillingError):
    code = "credit_exceeds_invoice"
    status = 409

    def __init__(self, number: str, amount: int, total: int, returned: int = 0):
        super().__init__(
            f"returning ¥{amount:,} against {number} is more than the ¥{total - returned:,} left of it"
            f" (¥{total:,} billed, ¥{returned:,} already returned in its month)"
        )


class CorrectionBelowReturned(CreditExceedsInvoice):
    """A correction that bills less than the month's return invoices already gave back."""

    def __init__(self, number: str, total: int, returned: int):
        BillingError.__init__(
            self,
            f"a correction of {number} billing ¥{total:,} is less than the ¥{returned:,} already returned in its"
            " month: returns belong to the month's chain of documents, so a correction bills at least what they gave"
            " back",
        )


class ReturnsExceedDocument(CreditExceedsInvoice):
    """A return against a document that bills less than its month's returns already gave back (a month whose
    returns were made before they belonged to its chain): nothing is left of it to return."""

    def __init__(self, number: str, amount: int, total: int, returned: int, short_rates: tuple[int, ...] = ()):
        where = (
            f"¥{returned:,} already returned in its month, more than the ¥{total:,} it bills"
            if returned > total
            else f"its month's returns (¥{returned:,}) gave back more than it bills at "
            + ", ".join(f"{rate}%" for rate in short_rates)
        )
        BillingError.__init__(
            self,
            f"returning ¥{amount:,} against {number} is more than is left of it: {where}; correct it to bill at least"
            " what the month's returns gave back before returning more",
        )


class InvoiceReplaced(BillingError):
    code = "invoice_replaced"
    status = 409

    def __init__(self, number: str):
        super().__init__(f"{number} has been replaced by a correction: act on the latest invoice of the month")


class InvalidBankFile(BillingError):
    """A bank's file that is not what its layout or its run says: the record (from 1) and field at fault."""

    code = "invalid_bank_file"
    status = 400

    def __init__(self, record: int, field: str, reason: str):
        super().__init__(f"record {record}, {field}: {reason}")
        self.record, self.field = record, field


class ResultsAlreadyImported(BillingError):
    code = "results_already_imported"
    status = 409

    def __init__(self, debit_date: str):
        super().__init__(f"another result file of the debit run of {debit_date} is already imported")


class DebitRunNotRequested(BillingError):
    code = "debit_run_not_requested"
    status = 409

    def __init__(self, debit_date: str):
        super().__init__(f"the debit run of {debit_date} has no request file yet; results cannot be imported")


class PaymentAlreadyAllocated(BillingError):
    code = "payment_already_allocated"
    status = 409

    def __init__(self, payment_id: str, account_id: str):
        super().__init__(f"payment {payment_id} is already allocated to {account_id}; take that back first")


class PaymentNotAllocated(BillingError):
    code = "payment_not_allocated"
    status = 409

    def __init__(self, payment_id: str, status: str):
        super().__init__(f"payment {payment_id} is {status}: there is no allocation to take back")


class PaymentCancelled(BillingError):
    code = "payment_cancelled"
    status = 409

    def __init__(self, payment_id: str):
        super().__init__(f"payment {payment_id} was cancelled by the bank (取消): it cannot be allocated")


class CreditAlreadyUsed(BillingError):
    code = "credit_already_used"
    status = 409

    def __init__(self, payment_id: str, account_id: str):
        super().__init__(
            f"payment {payment_id} left credit on {account_id} that has since paid other documents;"
            " it cannot be taken back whole"
        )


class AllocationMoved(BillingError):
    code = "allocation_moved"
    status = 409

    def __init__(self, payment_id: str):
        super().__init__(
            f"payment {payment_id} paid a document that was corrected or returned against since: it cannot be taken"
            " back whole; settle the difference with a return invoice"
        )
