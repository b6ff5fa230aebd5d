"""Sending a transfer request (お振込のお願い) once a debit did not go through, or could not be made.

Everything it says comes with the ask: the run's part holds each document with what it owed, the customer
number and the billing contact as they stood when the run was made, so sending reads nothing. Its email carries
a stable notice id (the run's date and the account), so a repeat after a crash can be told from the first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from billing.bank_calendar import posting_date
from billing.dal.mail import send_email
from billing.dal.notices import NoticeStore
from billing.delivery.notices import Notice, transfer_request_number
from billing.delivery.payment_notices import Owed, TransferRequest, WhyTransfer
from billing.invoicing.issuer import Issuer
from billing.invoicing.numbers import document_month
from billing.payments.debit_runs import TransferAsk

logger = logging.getLogger(__name__)


def transfer_request(ask: TransferAsk, issuer: Issuer) -> TransferRequest:
    part = ask.part
    return TransferRequest(
        why=WhyTransfer(ask.why),
        recipient_line=part.recipient_line,
        email=part.email,
        issuer_name=issuer.name,
        customer_number=part.customer_number,
        bank_account=issuer.bank.display,
        account_holder=issuer.bank.account_holder,
        debit_on=ask.debit_date,
        pay_by=ask.pay_by,
        owed=tuple(Owed(h.number, document_month(h.number), h.balance) for h in part.owed),
    )


class TransferRequests:
    """A web account is asked by email; a postal account by a letter in the next print run."""

    def __init__(self, issuer: Issuer, sender: str, notices: NoticeStore, today: Callable[[], date]):
        self.issuer, self.sender, self.notices, self.today = issuer, sender, notices, today

    def send(self, ask: TransferAsk) -> None:
        request = transfer_request(ask, self.issuer)
        part = ask.part
        if part.delivery_method == "postal" and part.contact is not None:
            notice = Notice(
                invoice_number=transfer_request_number(ask.debit_date),
                account_id=part.account_id,
                issued_on=self.today(),
                title=request.title,
                lines=tuple(request.lines()),
                recipient=part.contact,
                recipient_line=part.recipient_line,
                issuer=self.issuer,
            )
            posting_on = posting_date(self.today())
            added = self.notices.add(posting_on, notice)
            logger.info(
                "transfer request queued as a letter",
                extra={"account_id": part.account_id, "posting_on": posting_on.isoformat(), "new": added},
            )
            return
        notice_id = f"transfer-{ask.debit_date.isoformat()}-{ask.part.account_id}"
        send_email(self.sender, request.as_email(), notice_id=notice_id)
        logger.info(
            "transfer request sent",
            extra={"account_id": ask.part.account_id, "why": ask.why, "documents": len(request.owed)},
        )
