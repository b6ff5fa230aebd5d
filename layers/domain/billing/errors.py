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


class AccountCancelled(BillingError):
    code = "account_cancelled"
    status = 409

    def __init__(self, account_id: str, contract_end: str):
        super().__init__(f"the contract of account {account_id!r} ended on {contract_end}")


class NotFound(BillingError):
    code = "not_found"
    status = 404
