"""Sending a transfer request (お振込のお願い) once a debit did not go through, or could not be made.

The request names what is still owed on each document the run held, read now: money that came in meanwhile is
not asked for again. Its email carries a stable notice id (the run's date and the account), so a repeat after a
crash can be told from the first.
"""

from __future__ import annotations

import logging

from billing.dal.accounts import AccountStore
from billing.dal.ledger import LedgerStore
from billing.dal.mail import send_email
from billing.delivery.payment_notices import Owed, TransferRequest, WhyTransfer
from billing.invoicing.issuer import Issuer
from billing.invoicing.numbers import document_month
from billing.payments.debit_runs import TransferAsk

logger = logging.getLogger(__name__)


class TransferRequests:
    def __init__(self, accounts: AccountStore, ledger: LedgerStore, issuer: Issuer, sender: str):
        self.accounts, self.ledger, self.issuer, self.sender = accounts, ledger, issuer, sender

    def request(self, ask: TransferAsk) -> TransferRequest | None:
        """What the customer is asked for; None when nothing of it is owed any more."""
        owed = [
            Owed(d.number, document_month(d.number), d.balance)
            for d in self.ledger.open_documents(ask.account_id)
            if d.number in ask.documents
        ]
        if not owed:
            return None
        contract = self.accounts.get(ask.account_id)
        contact = contract.terms_for(ask.debit_date.strftime("%Y-%m")).billing_contact
        return TransferRequest(
            why=WhyTransfer(ask.why),
            recipient_line=contact.recipient,
            email=contact.email,
            issuer_name=self.issuer.name,
            customer_number=contract.customer_number or "",
            bank_account=self.issuer.bank.display,
            account_holder=self.issuer.bank.account_holder,
            debit_on=ask.debit_date,
            pay_by=ask.pay_by,
            owed=tuple(owed),
        )

    def send(self, ask: TransferAsk) -> None:
        request = self.request(ask)
        if request is None:
            logger.info("transfer request not sent: nothing owed", extra={"account_id": ask.account_id})
            return
        notice_id = f"transfer-{ask.debit_date.isoformat()}-{ask.account_id}"
        send_email(self.sender, request.as_email(), notice_id=notice_id)
        logger.info(
            "transfer request sent",
            extra={"account_id": ask.account_id, "why": ask.why, "documents": len(request.owed), "notice": notice_id},
        )
