"""Letters that are not invoices: a transfer request or a reminder for a postal account, printed in the print run.

A notice goes in its account's envelope after the account's invoices of the batch (letters sort by account,
then number, and ``TR-`` sorts after ``INV-`` and ``CN-``). It carries what the letter says and where it goes,
as the email would have said it; the print run renders it with the address window of an invoice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from billing.contracts.accounts import BillingContact
from billing.invoicing.issuer import Issuer

NOTICE_PREFIX = "TR-"


def is_notice(number: str) -> bool:
    """Whether a letter's number is a notice's (an invoice's is INV-, a return invoice's CN-)."""
    return number.startswith(NOTICE_PREFIX)


def reminder_number(invoice_number: str, level: int) -> str:
    """A document's reminder of one level: ``TR-<invoice number>-R<level>``."""
    return f"{NOTICE_PREFIX}{invoice_number}-R{level}"


def transfer_request_number(debit_date: date) -> str:
    """The account's one transfer request for a debit date: ``TR-YYYYMMDD``."""
    return f"{NOTICE_PREFIX}{debit_date:%Y%m%d}"


@dataclass(frozen=True)
class Notice:
    invoice_number: str  # the letter's number, as letters name it (``TR-YYYYMMDD``)
    account_id: str
    issued_on: date
    title: str
    lines: tuple[str, ...]
    recipient: BillingContact  # where the letter goes (the address window)
    recipient_line: str
    issuer: Issuer
    delivery_method: str = "postal"

    @property
    def month(self) -> str:
        return self.issued_on.strftime("%Y-%m")

    def as_record(self) -> dict:
        return {
            "invoice_number": self.invoice_number,
            "account_id": self.account_id,
            "issued_on": self.issued_on.isoformat(),
            "title": self.title,
            "lines": list(self.lines),
            "recipient": asdict(self.recipient),
            "recipient_line": self.recipient_line,
            "issuer": self.issuer.as_record(),
        }

    @classmethod
    def from_record(cls, record: dict) -> Notice:
        return cls(
            invoice_number=record["invoice_number"],
            account_id=record["account_id"],
            issued_on=date.fromisoformat(record["issued_on"]),
            title=record["title"],
            lines=tuple(record["lines"]),
            recipient=BillingContact(**record["recipient"]),
            recipient_line=record["recipient_line"],
            issuer=Issuer.from_record(record["issuer"]),
        )
