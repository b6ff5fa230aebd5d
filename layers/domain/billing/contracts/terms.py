"""An account's terms as a history: the terms it was created with, and each change from the month it took effect.

The invoice for month M is built from ``Contract.terms_for(M)``: the first
terms with every change whose effective month is M or earlier laid over them,
in the order they were applied. A change only ever takes effect from a month
that is still open for the account (the store refuses any other), so a closed
month's terms never change.

A change is kept as what it changes (a delta), not as a whole copy of the
terms, so a contact change applied today and a plan change scheduled for next
month compose: next month has both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from billing import months
from billing.contracts.accounts import AccountProfile, contract_covers
from billing.contracts.cancellation import Cancellation
from billing.contracts.change_requests import ChangeRequest, Changes
from billing.contracts.payment_details import MandateStatus
from billing.errors import MonthClosed
from billing.tariff import Tariff
from billing.vocabulary import PaymentMethod


@dataclass(frozen=True)
class TermsChange:
    """One applied change, in force from ``effective_month`` on."""

    effective_month: str
    changes: Changes
    change_request_id: str | None = None

    def as_record(self) -> dict:
        return {
            "effective_month": self.effective_month,
            "changes": self.changes.as_json(),
            "change_request_id": self.change_request_id,
        }

    @classmethod
    def from_record(cls, record: dict) -> TermsChange:
        return cls(record["effective_month"], Changes.from_json(record["changes"]), record.get("change_request_id"))


@dataclass(frozen=True)
class Contract:
    """What the store keeps of an account: its first terms, its changes, its cancellation and its last closed month."""

    first: AccountProfile  # the terms as created, with contract_start
    history: tuple[TermsChange, ...] = ()  # in the order applied
    cancellation: Cancellation | None = None
    closed_through: str | None = None  # the account's latest closed month
    customer_number: str | None = None  # お客様番号, given at creation (or by the migration, for older accounts)
    mandate_status: MandateStatus | None = None  # the direct-debit mandate's state, while there is a debit account
    credit_balance: int = 0  # money received and not yet applied to a document

    @property
    def account_id(self) -> str:
        return self.first.account_id

    @property
    def start_month(self) -> str:
        return self.first.contract_start.isoformat()[:7]

    @property
    def contract_end(self) -> date | None:
        return None if self.cancellation is None else self.cancellation.contract_end

    @property
    def end_month(self) -> str | None:
        return None if self.cancellation is None else self.cancellation.end_month

    def covers(self, month: str) -> bool:
        """Billed for the month: the contract has started by it and not ended before it."""
        return contract_covers(month, self.first.contract_start.isoformat(), _iso(self.contract_end))

    def is_closed(self, month: str) -> bool:
        return self.closed_through is not None and month <= self.closed_through

    def first_open_month(self, month: str) -> str:
        """``month``, or the first month after the account's last closed one if ``month`` is closed."""
        return months.next_month(self.closed_through) if self.is_closed(month) else month

    def terms_for(self, month: str) -> AccountProfile:
        """The terms in force for ``month``: before the start, the first terms; after the end, the last ones."""
        month = max(month, self.start_month)
        if self.end_month:
            month = min(month, self.end_month)
        terms = self.first
        for change in self.history:
            if change.effective_month <= month:
                terms = change.changes.apply_to(terms)
        return replace(terms, contract_end=self.contract_end)

    def billed_terms(self, month: str) -> AccountProfile:
        """The terms ``month``'s invoice is issued on: while the direct-debit mandate is rejected the bank cannot
        debit the account, so its invoices ask for a transfer (the bank account, a due date, the customer number)."""
        terms = self.terms_for(month)
        if terms.payment_method == PaymentMethod.DIRECT_DEBIT and self.mandate_status is MandateStatus.REJECTED:
            return replace(terms, payment_method=PaymentMethod.BANK_TRANSFER, debit_account=None)
        return terms

    def scheduled_after(self, month: str) -> list[TermsChange]:
        """Changes that take effect after ``month``, by effective month."""
        month = max(month, self.start_month)
        return sorted((c for c in self.history if c.effective_month > month), key=lambda c: c.effective_month)

    def terms_for_change(self, month: str) -> AccountProfile:
        """The terms a change for ``month`` is laid over; a closed month cannot change."""
        if self.is_closed(month):
            raise MonthClosed(month)
        return self.terms_for(month)

    def settle(
        self,
        request: ChangeRequest,
        now: datetime,
        tariff: Tariff,
        approved_by: str | None = None,
        principal: str | None = None,
    ) -> ChangeRequest:
        """The request as applied now: from the month it names (or this month), or the first open one after.

        The tariff in force for that month must still sell the plan and options the change leads to.
        """
        month = self.first_open_month(request.effective_month or months.month_of(now))
        terms = request.changes.apply_to(self.terms_for(month))
        tariff.check_terms(month, terms.plan, terms.options)
        return request.applied(now, month, approved_by=approved_by, principal=principal)

    def as_json(self, month: str) -> dict:
        """The API's view for ``month``: its terms, the cancellation's end, and what is scheduled after it."""
        terms = self.terms_for(month)
        body = terms.shown()
        body["scheduled_changes"] = [
            {"effective_month": c.effective_month, "changes": c.changes.shown()} for c in self.scheduled_after(month)
        ]
        body["customer_number"] = self.customer_number
        body["credit_balance"] = self.credit_balance
        if terms.debit_account is not None:
            body["mandate_status"] = self.mandate_status or MandateStatus.PENDING
        return body


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
