"""What a customer sees of their invoices: statements, newest first.

A statement is an issued invoice seen from the customer's side, with its
delivery status. It shows from its ``available_on`` date (the issue date).
"""

from __future__ import annotations

from datetime import date

from billing.errors import NotFound
from billing.payments.ledger import Collection, Receivable
from billing.vocabulary import InvoiceStatus

CURRENCY = "JPY"


def visible(record: dict, today: date) -> bool:
    """Issued (or issued and since replaced by a correction) and available by ``today``."""
    available = record.get("available_on") or record["issued_on"]
    return InvoiceStatus.counts_as_issued(record.get("status")) and available <= today.isoformat()


def is_credit_note(record: dict) -> bool:
    return record.get("kind") == "credit_note"


def latest_by_month(records: list[dict], today: date) -> dict[str, dict]:
    """Each month's statement: its latest visible invoice (a correction, once one exists)."""
    latest: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r["invoice_number"]):
        if visible(record, today) and not is_credit_note(record) and record["status"] == InvoiceStatus.ISSUED:
            latest[record["month"]] = record
    return latest


def payment_state(record: dict, today: date) -> dict:
    """What the customer owes on the statement: the state in English and Japanese, the balance and pay_by. A
    document from before the payment ledger says nothing of money."""
    if "amount_due" not in record:
        return {}
    owed = Receivable(
        number=record["invoice_number"],
        amount_due=record["amount_due"],
        pay_by=date.fromisoformat(record["pay_by"]),
        paid_amount=record.get("paid_amount", 0),
        collection=Collection(record["collection"]) if record.get("collection") else None,
    )
    return {
        "payment_status": owed.status.value,
        "overdue": owed.overdue(today),
        "payment_label": owed.label(today),
        "balance": owed.balance,
        "pay_by": owed.pay_by.isoformat(),
    }


def pay_to(record: dict) -> dict:
    """For the page: where to transfer what is owed, when it is owed by transfer (a transfer invoice, or a debit
    that failed): the issuer's account as issued and the customer number to give before the payer name."""
    owed = payment_state(record, date.min)
    by_transfer = record["payment_method"] == "bank_transfer" or owed.get("payment_status") == "debit_failed"
    if not owed.get("balance") or not by_transfer:
        return {}
    bank = record["issuer"]["bank"]
    account = f"{bank['bank_name']} {bank['branch_name']} {bank['account_type']} {bank['account_number']}"
    return {
        "pay_to": {
            "account": account,
            "holder": bank["account_holder"],
            "customer_number": record.get("customer_number"),
        }
    }


def summary(record: dict, today: date) -> dict:
    body = {
        "month": record["month"],
        "invoice_number": record["invoice_number"],
        "total": record["total"],
        "tax": record["tax"],
        "currency": record.get("currency", CURRENCY),
        "issued_on": record["issued_on"],
        "payment_method": record["payment_method"],
        "delivery_method": record["delivery_method"],
        "available_on": record.get("available_on") or record["issued_on"],
        "status": record.get("delivery_status", "pending"),
        "final": record.get("final", False),  # 最終請求: the contract's last month
        "replaces": record.get("replaces"),
    }
    # 振込期限 for bank transfer, 口座振替日 for direct debit: one or the other, never both.
    if record["payment_method"] == "bank_transfer":
        body["due_on"] = record["due_on"]
    else:
        body["debit_on"] = record["debit_on"]
    if record.get("posting_on"):
        body["posting_on"] = record["posting_on"]
        body["estimated_arrival"] = record["estimated_arrival"]
    return body | payment_state(record, today)


def detail(record: dict, records: list[dict], today: date) -> dict:
    """One month's statement with its lines, usage, the month's chain of invoices and its return invoices."""
    usage = record["usage"]
    month = sorted(
        (r for r in records if r["month"] == record["month"] and visible(r, today)), key=lambda r: r["invoice_number"]
    )
    return {
        **summary(record, today),
        "history": [
            {"invoice_number": r["invoice_number"], "issued_on": r["issued_on"], "status": r["status"]}
            for r in month
            if not is_credit_note(r)
        ],
        "credit_notes": [
            {
                "invoice_number": r["invoice_number"],
                "issued_on": r["issued_on"],
                "total": r["total"],
                "tax": r["tax"],
                "reason": r.get("reason"),
            }
            for r in month
            if is_credit_note(r)
        ],
        "lines": [{"description": line["description"], "amount": line["amount"]} for line in record["lines"]],
        "usage": {
            "peak": usage["peak"],
            "peak_observed_at": usage["peak_observed_at"],
            "opening_count": usage["opening_count"],
            "daily": usage["daily"],
            "bracket": {"number": usage["bracket"], "low": usage["bracket_low"], "high": usage["bracket_high"]},
        },
    }


def newest_first(records: list[dict], today: date) -> list[dict]:
    return sorted(latest_by_month(records, today).values(), key=lambda r: r["month"], reverse=True)


def the_one(records: list[dict], month: str, today: date) -> dict:
    """The caller's statement for the month; 404 when it is not theirs or not visible yet."""
    found = latest_by_month(records, today).get(month)
    if found is None:
        raise NotFound(f"no statement for {month}")
    return found
