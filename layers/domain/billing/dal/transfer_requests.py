"""Sending a transfer request (お振込のお願い) once a debit did not go through, or could not be made.

Everything it says comes with the ask: the run's part holds each document with what it owed, the customer
number and the billing contact as they stood when the run was made, so sending reads nothing. Its email carries
a stable notice id (the run's date and the account), so a repeat after a crash can be told from the first.
"""

from __future__ import annotations

import logging

from billing.dal.mail import send_email
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
    def __init__(self, issuer: Issuer, sender: str):
        self.issuer, self.sender = issuer, sender

    def send(self, ask: TransferAsk) -> None:
        request = transfer_request(ask, self.issuer)
        notice_id = f"transfer-{ask.debit_date.isoformat()}-{ask.part.account_id}"
        send_email(self.sender, request.as_email(), notice_id=notice_id)
        logger.info(
            "transfer request sent",
            extra={"account_id": ask.part.account_id, "why": ask.why, "documents": len(request.owed)},
        )
